using FsCheck;
using FsCheck.Experimental;

namespace Xen.Rings.Tests.Properties;

public class ByteRingProperties
{
    [Fact]
    public void Every_byte_ring_operation_agrees_with_a_bounded_queue_model() =>
        Check.One(PropertyRuns.Cases(500), StateMachine.ToProperty(new ByteRingMachine()));
}
