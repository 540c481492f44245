using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Runtime;

/// <summary>Ordering contract, rule 5: an exception fails one message, is reported, and the exit code says so.</summary>
[TestClass]
public sealed class HandlerFailureTests
{
    [TestMethod]
    public void A_throwing_handler_fails_one_message_and_the_run_exits_non_zero()
    {
        var fixture = Fixtures.Get("Faulty");
        var result = ProcessRunner.RunDotnet(fixture.WovenDll);

        // 99 of 100 numbers get through: sum of squares 1..100 minus 13².
        var expectedSum = Enumerable.Range(1, 100).Sum(n => (long)n * n) - 169;
        Assert.AreEqual($"99 squares, sum {expectedSum}", result.StandardOutput.Trim(), result.ToString());
        Assert.AreEqual(1, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "stage OnNumber failed message ");
        StringAssert.Contains(result.StandardError, "thirteen is unlucky");
        StringAssert.Contains(result.StandardError, "1 message(s) failed");
    }

    [TestMethod]
    public void Unwoven_the_same_program_stops_at_the_first_exception()
    {
        // The baseline the woven behaviour is measured against: proves the fixture really throws.
        var fixture = Fixtures.Get("Faulty");
        var result = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        Assert.AreNotEqual(0, result.ExitCode);
        StringAssert.Contains(result.StandardError, "thirteen is unlucky");
    }
}
