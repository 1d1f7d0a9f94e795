using FsCheck;
using FsCheck.Fluent;
using Xen.Rings.SharedRing;

namespace Xen.Rings.Tests.Properties;

/// <summary>A push that moved a producer index from <see cref="Old"/> to <see cref="New"/>, with the peer's event index.</summary>
public readonly record struct NotifyCase(uint Old, uint New, uint Event)
{
    public override string ToString() => $"old=0x{Old:X8} new=0x{New:X8} event=0x{Event:X8}";
}

/// <summary>Generators registered with <see cref="Config.WithArbitrary"/> for the notify properties.</summary>
public static class NotifyArbitraries
{
    /// <summary>
    /// Pushes of 0, a few, or any number of entries from anywhere (often just below 2^32), with the event index
    /// next to old, next to new, inside the pushed range, or anywhere.
    /// </summary>
    public static Arbitrary<NotifyCase> NotifyCases()
    {
        Gen<uint> distance = Gen.Frequency(
            (1, Gen.Constant(0u)),
            (5, Gen.Choose(1, 64).Select(d => (uint)d)),
            (2, IndexGen.AnyUInt));
        Gen<NotifyCase> cases =
            from old in IndexGen.Start(64)
            from d in distance
            let @new = unchecked(old + d)
            from @event in Gen.Frequency(
                (2, IndexGen.Near(old, 2, 2)),
                (2, IndexGen.Near(@new, 2, 2)),
                (2, Gen.Choose(0, (int)Math.Min(d, 1000u)).Select(k => unchecked(old + (uint)k))),
                (1, IndexGen.AnyUInt))
            select new NotifyCase(old, @new, @event);
        return Arb.From(cases, Shrink);
    }

    /// <summary>Shrinks towards old = 0, keeping new and event where they were relative to old.</summary>
    private static IEnumerable<NotifyCase> Shrink(NotifyCase c)
    {
        if (c.Old != 0)
        {
            yield return new NotifyCase(0, unchecked(c.New - c.Old), unchecked(c.Event - c.Old));
        }
    }
}

public class NotifyRuleProperties
{
    private static readonly Config Config = PropertyRuns.Cases(500).WithArbitrary([typeof(NotifyArbitraries)]);

    [Theory]
    [InlineData(0u, 1u, 1u, true)]
    [InlineData(1u, 3u, 1u, false)]
    [InlineData(1u, 3u, 2u, true)]
    [InlineData(1u, 3u, 3u, true)]
    [InlineData(1u, 3u, 4u, false)]
    [InlineData(0xFFFF_FFFEu, 1u, 0xFFFF_FFFFu, true)]
    [InlineData(0xFFFF_FFFEu, 1u, 2u, false)]
    [InlineData(5u, 5u, 6u, false)]
    [InlineData(0u, 32u, 1u, true)]
    [InlineData(10u, 20u, 21u, false)]
    public void NeedsNotify_matches_the_table_in_XEN_FACTS(uint oldProducer, uint newProducer, uint eventIndex, bool notify) =>
        Assert.Equal(notify, SharedRingLayout.NeedsNotify(oldProducer, newProducer, eventIndex));

    [Fact]
    public void NeedsNotify_equals_the_ring_h_expression() =>
        Check.One(Config, Prop.ForAll((NotifyCase c) =>
            SharedRingLayout.NeedsNotify(c.Old, c.New, c.Event) == RingHExpression(c.Old, c.New, c.Event)));

    [Fact]
    public void NeedsNotify_is_true_exactly_when_old_is_before_event_and_event_is_not_after_new_modulo_2_32() =>
        Check.One(Config, Prop.ForAll((NotifyCase c) =>
            SharedRingLayout.NeedsNotify(c.Old, c.New, c.Event) == EventInPushedRange(c.Old, c.New, c.Event)));

    [Fact]
    public void A_push_of_d_entries_notifies_for_exactly_the_d_event_values_old_plus_1_to_old_plus_d() =>
        Check.One(Config, Prop.ForAll((NotifyCase c) =>
        {
            uint d = unchecked(c.New - c.Old);
            if (d > 64)
            {
                return true; // the window below enumerates small pushes only
            }

            for (int k = -4; k <= (int)d + 4; k++)
            {
                bool inRange = k >= 1 && k <= (int)d;
                if (SharedRingLayout.NeedsNotify(c.Old, c.New, unchecked(c.Old + (uint)k)) != inRange)
                {
                    return false;
                }
            }

            return true;
        }));

    /// <summary><c>(RING_IDX)(__new - __event) &lt; (RING_IDX)(__new - __old)</c>, as in <c>RING_PUSH_*_AND_CHECK_NOTIFY</c>.</summary>
    private static bool RingHExpression(uint old, uint @new, uint @event) => unchecked(@new - @event) < unchecked(@new - old);

    /// <summary>
    /// <c>old &lt; event &lt;= new</c> modulo 2^32, stated in 64-bit arithmetic: lift new and event above old
    /// (adding 2^32 to whichever lies at or below it) and compare plainly.
    /// </summary>
    internal static bool EventInPushedRange(uint old, uint @new, uint @event)
    {
        ulong liftedNew = @new >= old ? @new : @new + (1UL << 32);
        ulong liftedEvent = @event > old ? @event : @event + (1UL << 32);
        return liftedEvent <= liftedNew;
    }
}
