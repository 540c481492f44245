using System.Text.Json;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Sample;

/// <summary>The sample the README runs: its plan, as the build wrote it beside the woven assembly.</summary>
[TestClass]
public sealed class WordCountTests
{
    static JsonElement Map() => JsonDocument.Parse(File.ReadAllText(Fixtures.Get("WordCount").StageMapJson)).RootElement;

    static string GroupOf(JsonElement map, string stage) =>
        map.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == stage).GetProperty("group").GetString()!;

    [TestMethod]
    public void Line_and_word_handlers_are_stages_in_different_groups()
    {
        var map = Map();
        Assert.AreNotEqual(GroupOf(map, "OnLine"), GroupOf(map, "OnWord"));
    }

    [TestMethod]
    public void The_report_handler_joins_the_word_group_because_it_reads_the_counts()
    {
        var map = Map();
        Assert.AreEqual(GroupOf(map, "OnWord"), GroupOf(map, "OnEnd"));
        var counts = map.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "Program.counts");
        Assert.AreEqual(GroupOf(map, "OnWord"), counts.GetProperty("group").GetString());
        Assert.IsTrue(counts.GetProperty("moved").GetBoolean(), "counts should live in the group's state object");
    }

    [TestMethod]
    public void The_source_drains_the_line_path_before_posting_the_report()
    {
        var map = Map();
        Assert.IsTrue(map.GetProperty("barriers").EnumerateArray().Any(b =>
            b.GetProperty("before").GetString() == "OnLine" && b.GetProperty("after").GetString() == "OnEnd"));
    }

    [TestMethod]
    public void Constant_separators_stay_static()
    {
        var separators = Map().GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "Program.Separators");
        Assert.AreEqual("constant", separators.GetProperty("placement").GetString());
    }

    [TestMethod]
    public void The_markdown_map_has_a_mermaid_graph_of_the_stages()
    {
        var md = File.ReadAllText(Fixtures.Get("WordCount").StageMapMarkdown);
        StringAssert.Contains(md, "```mermaid");
        StringAssert.Contains(md, "Main --> s_OnLine");
        StringAssert.Contains(md, "s_OnLine --> s_OnWord");
    }
}
