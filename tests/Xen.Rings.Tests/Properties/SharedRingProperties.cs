using FsCheck;
using FsCheck.Experimental;

namespace Xen.Rings.Tests.Properties;

public class SharedRingProperties
{
    [Fact]
    public void Front_and_back_ends_agree_with_the_model_under_random_interleavings() =>
        Check.One(PropertyRuns.Cases(500), StateMachine.ToProperty(new SharedRingMachine()));
}
