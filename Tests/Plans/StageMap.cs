using System.Text.Json;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Plans;

/// <summary>
/// A fixture's plan as the weaver wrote it beside the woven assembly (<c>&lt;Name&gt;.stages.json</c>): what the plan tests
/// assert on, without reading IL.
/// </summary>
public sealed class StageMap
{
    public sealed record StageEntry(string Name, string Group, string[] Next, string[] BarrierAfter, string[] Carries, string[] ExternalCalls, bool CopyArguments, string[] Seeds);
    public sealed record GroupEntry(string Name, int Rank, string[] Stages, string[] State, string[] StreamedCopies, string[] FusedBecause, string[] Seeded, string[] Results)
    {
        /// <summary>Its host can checkpoint its state (docs/design.md §6.6); false: WEAV029 said why not.</summary>
        public bool Checkpoints { get; init; }
    }
    public sealed record FieldEntry(string Name, string Placement, string? Group, bool Moved, string Reason, string? Writer, string[] Readers, string[] Carriers);
    public sealed record CallSiteEntry(string Caller, string Callee, bool Cut, string? Rule, string? Reason, int Line);
    public sealed record DiagnosticEntry(string Id, string Severity, string Message, string? File, int Line)
    {
        public override string ToString() => $"{Id}@{Line}";
    }

    public required string Assembly { get; init; }
    public required string? Source { get; init; }
    public required IReadOnlyList<StageEntry> Stages { get; init; }
    public required IReadOnlyList<GroupEntry> Groups { get; init; }
    public required IReadOnlyList<FieldEntry> Fields { get; init; }
    public required IReadOnlyList<(string Before, string After)> Barriers { get; init; }
    public required IReadOnlyList<CallSiteEntry> CallSites { get; init; }
    public required IReadOnlyList<DiagnosticEntry> Diagnostics { get; init; }

    public static StageMap Of(string fixture) => Read(File.ReadAllText(Fixtures.Get(fixture).StageMapJson));

    public static StageMap Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        static string[] Strings(JsonElement e, string name) =>
            e.TryGetProperty(name, out var a) ? a.EnumerateArray().Select(x => x.GetString()!).ToArray() : [];
        static string? Text(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return new StageMap
        {
            Assembly = Text(root, "assembly")!,
            Source = Text(root, "source"),
            Stages = root.GetProperty("stages").EnumerateArray().Select(s => new StageEntry(Text(s, "name")!, Text(s, "group")!,
                Strings(s, "next"), Strings(s, "barrierAfter"), Strings(s, "carries"), Strings(s, "externalCalls"),
                s.GetProperty("copyArguments").GetBoolean(), Strings(s, "seeds"))).ToList(),
            Groups = root.GetProperty("groups").EnumerateArray().Select(g => new GroupEntry(Text(g, "name")!, g.GetProperty("rank").GetInt32(),
                Strings(g, "stages"), Strings(g, "state"), Strings(g, "streamedCopies"), Strings(g, "fusedBecause"), Strings(g, "seeded"), Strings(g, "results"))
                { Checkpoints = g.TryGetProperty("checkpoints", out var c) && c.GetBoolean() }).ToList(),
            Fields = root.GetProperty("fields").EnumerateArray().Select(f => new FieldEntry(Text(f, "name")!, Text(f, "placement")!,
                Text(f, "group"), f.GetProperty("moved").GetBoolean(), Text(f, "reason")!, Text(f, "writer"),
                Strings(f, "readers"), Strings(f, "carriers"))).ToList(),
            Barriers = root.GetProperty("barriers").EnumerateArray().Select(b => (Text(b, "before")!, Text(b, "after")!)).ToList(),
            CallSites = root.GetProperty("callSites").EnumerateArray().Select(c => new CallSiteEntry(Text(c, "caller")!, Text(c, "callee")!,
                c.GetProperty("cut").GetBoolean(), Text(c, "rule"), Text(c, "reason"), c.GetProperty("line").GetInt32())).ToList(),
            Diagnostics = root.GetProperty("diagnostics").EnumerateArray().Select(d => new DiagnosticEntry(Text(d, "id")!, Text(d, "severity")!,
                Text(d, "message")!, Text(d, "file"), d.GetProperty("line").GetInt32())).ToList(),
        };
    }

    public StageEntry Stage(string name) =>
        Stages.FirstOrDefault(s => s.Name == name) ?? throw new AssertFailedException($"{Assembly} has no stage {name}; stages: {string.Join(", ", Stages.Select(s => s.Name))}.");

    public FieldEntry Field(string name) =>
        Fields.FirstOrDefault(f => f.Name == name) ?? throw new AssertFailedException($"{Assembly} has no field {name}.");

    /// <summary>The user's fields, without compiler-generated caches.</summary>
    public IEnumerable<FieldEntry> UserFields => Fields.Where(f => !f.Name.Contains('<'));

    // Compact forms, so that a failing assertion shows the whole decision at once.

    /// <summary>"Group: StageA, StageB" per group, in the plan's order.</summary>
    public string[] GroupLayout => Groups.Select(g => $"{g.Name}: {string.Join(", ", g.Stages.Order(StringComparer.Ordinal))}").ToArray();

    /// <summary>"Type.field: placement [group]" per user field, ordered by name.</summary>
    public string[] Placements => UserFields.Select(f => $"{f.Name}: {f.Placement}{(f.Group is null ? "" : " " + f.Group)}").ToArray();

    /// <summary>"Caller -> Callee @line: cut|sync" per call site.</summary>
    public string[] Sites => CallSites.Select(c => $"{c.Caller} -> {c.Callee} @{c.Line}: {(c.Cut ? "cut" : "sync")}").ToArray();

    /// <summary>The call sites in <paramref name="caller"/> ("Type.Method"), by callee: for a caller that calls each once.</summary>
    public Dictionary<string, CallSiteEntry> SitesIn(string caller) => CallSites.Where(c => c.Caller == caller).ToDictionary(c => c.Callee);

    /// <summary>"ID@line" per diagnostic, in the plan's order.</summary>
    public string[] DiagnosticLines => Diagnostics.Select(d => d.ToString()).ToArray();

    public string[] BarrierPairs => Barriers.Select(b => $"{b.Before} -> {b.After}").ToArray();
}

public static class PlanAssert
{
    /// <summary>The same items in any order; the message lists both sides in full.</summary>
    public static void SameSet(IEnumerable<string> expected, IEnumerable<string> actual, string what)
    {
        var e = expected.Order(StringComparer.Ordinal).ToArray();
        var a = actual.Order(StringComparer.Ordinal).ToArray();
        if (!e.SequenceEqual(a))
            Assert.Fail($"{what} differ.{Environment.NewLine}expected:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", e)}" +
                        $"{Environment.NewLine}actual:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", a)}");
    }
}
