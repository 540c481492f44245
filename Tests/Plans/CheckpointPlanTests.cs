namespace Weaving.Tests.Plans;

/// <summary>
/// docs/design.md §6.6: which stateful groups can keep checkpoints. A group whose every field can be written with the
/// message codec gets a checkpoint snapshot; one that holds something that cannot gets WEAV029, naming the field and why,
/// and runs without checkpoints (the differential tests run it as before).
/// </summary>
[TestClass]
public sealed class CheckpointPlanTests
{
    [TestMethod]
    [DataRow("Reliable", "OnResult")]
    [DataRow("WordCount", "OnWord")]
    [DataRow("FrozenOptions", null)]
    public void A_stateful_group_whose_state_can_travel_keeps_checkpoints_and_the_build_says_nothing(string fixture, string? stage)
    {
        var map = StageMap.Of(fixture);
        var stateful = map.Groups.Where(g => g.State.Length > 0 || g.Seeded.Length > 0).ToList();
        Assert.IsTrue(stateful.Count > 0, $"{fixture} has a stateful group");
        if (stage is not null) Assert.IsTrue(stateful.Any(g => g.Stages.Contains(stage)), $"{stage} is in a stateful group");
        foreach (var group in stateful)
            Assert.IsTrue(group.Checkpoints, $"{fixture}: group {group.Name} keeps checkpoints");
        Assert.IsFalse(map.Diagnostics.Any(d => d.Id == "WEAV029"), string.Join("; ", map.Diagnostics.Where(d => d.Id == "WEAV029").Select(d => d.Message)));
    }

    [TestMethod]
    public void A_stateful_group_holding_a_value_that_cannot_be_written_keeps_no_checkpoints_and_the_warning_names_the_field()
    {
        // Arguments.label is a Label whose text is not public: the codec cannot write it (nor send it in a message).
        var map = StageMap.Of("Arguments");
        var group = map.Groups.Single(g => g.Stages.Contains("OnLabelled"));
        Assert.IsFalse(group.Checkpoints, $"group {group.Name} keeps no checkpoints");
        var warning = map.Diagnostics.Single(d => d.Id == "WEAV029");
        Assert.AreEqual("warning", warning.Severity);
        StringAssert.Contains(warning.Message, $"Group {group.Name} keeps no checkpoints: its field Program.label cannot be written (Label.text is not public");
        foreach (var other in map.Groups.Where(g => g != group && g.State.Length > 0))
            Assert.IsTrue(other.Checkpoints, $"group {other.Name}, whose state can travel, keeps checkpoints");
    }
}
