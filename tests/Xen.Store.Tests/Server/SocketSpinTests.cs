using Xen.Store.Server;

namespace Xen.Store.Tests.Server;

/// <summary>
/// <see cref="XenStoreServerOptions.ReceiveSpin"/>: when a socket connection's thread checks for the next request before
/// sleeping (only while no other connection is being served or was lately), and how the awake count is kept.
/// </summary>
public class SocketSpinTests
{
    private static readonly TimeSpan LongSpin = TimeSpan.FromSeconds(30); // never reached when a test passes

    [Fact]
    public void The_only_connection_awake_checks_its_socket_until_a_request_is_there()
    {
        var spin = new SocketSpin(LongSpin);
        object connection = new();
        spin.Started();
        int checks = 0;
        Assert.True(spin.Sleeping(connection, () => ++checks == 3));
        Assert.Equal(3, checks);
        Assert.Equal(0, spin.Awake);
    }

    [Fact]
    public void A_spin_ends_after_its_time_when_nothing_comes()
    {
        var spin = new SocketSpin(TimeSpan.FromMilliseconds(1));
        spin.Started();
        int checks = 0;
        Assert.False(spin.Sleeping(new object(), () => { checks++; return false; }));
        Assert.True(checks >= 1);
        Assert.Equal(0, spin.Awake);
    }

    [Fact]
    public void No_connection_spins_while_another_is_awake()
    {
        var spin = new SocketSpin(LongSpin);
        spin.Started();
        spin.Started();
        Assert.False(spin.Sleeping(new object(), () => throw new InvalidOperationException("spun while another connection was awake")));
        Assert.Equal(1, spin.Awake);
    }

    [Fact]
    public void No_connection_spins_right_after_another_was_served()
    {
        var spin = new SocketSpin(LongSpin);
        object a = new(), b = new();
        spin.Started();
        spin.Started();
        spin.Sleeping(b, () => true); // b sleeps without spinning (a is awake) ...
        spin.Woke(b);                 // ... and is woken by a request
        spin.Sleeping(b, () => true);
        Assert.Equal(1, spin.Awake);

        // a is alone awake now, but b was served a moment ago: clients are active elsewhere, a sleeps at once.
        Assert.False(spin.Sleeping(a, () => throw new InvalidOperationException("spun while another client was active")));
        Assert.Equal(0, spin.Awake);
    }

    [Fact]
    public void A_connection_that_was_served_last_itself_spins_again()
    {
        var spin = new SocketSpin(LongSpin);
        object a = new();
        spin.Started();
        Assert.True(spin.Sleeping(a, () => true));
        spin.Woke(a);
        int checks = 0;
        Assert.True(spin.Sleeping(a, () => ++checks == 2));
        Assert.Equal(2, checks);
    }

    [Fact]
    public void Started_sleeping_woke_and_ended_keep_the_awake_count()
    {
        var spin = new SocketSpin(TimeSpan.FromMicroseconds(1));
        object a = new();
        spin.Started();
        Assert.Equal(1, spin.Awake);
        spin.Sleeping(a, () => false);
        Assert.Equal(0, spin.Awake);
        spin.Woke(a);
        Assert.Equal(1, spin.Awake);
        spin.Ended();
        Assert.Equal(0, spin.Awake);
    }

    [Fact]
    public void The_options_default_to_50_microseconds_and_zero_or_a_single_processor_turns_spinning_off()
    {
        Assert.Equal(TimeSpan.FromMicroseconds(50), new XenStoreServerOptions().ReceiveSpin);
        Assert.NotNull(SocketSpin.For(new XenStoreServerOptions(), processors: 2));
        Assert.Null(SocketSpin.For(new XenStoreServerOptions { ReceiveSpin = TimeSpan.Zero }, processors: 2));
        Assert.Null(SocketSpin.For(new XenStoreServerOptions(), processors: 1));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10_001)]
    public void A_receive_spin_below_zero_or_over_10_ms_is_refused(double microseconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new XenStoreServerOptions { ReceiveSpin = TimeSpan.FromMicroseconds(microseconds) });
    }
}
