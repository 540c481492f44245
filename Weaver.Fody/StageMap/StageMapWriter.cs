using System.Text;
using Weaving.Fody.Plan;

namespace Weaving.Fody.StageMap;

/// <summary>Prints the plan as the stage map: <c>.stages.json</c> for tools, <c>.stages.md</c> (Mermaid) for people.</summary>
public static class StageMapWriter
{
    public static string Json(WeavingPlan plan, string buildHash)
    {
        var json = new JsonText().BeginObject()
            .Property("assembly", plan.AssemblyName)
            .Property("buildHash", buildHash)
            .Property("source", plan.Source is null ? null : plan.Written(plan.Source).DeclaringType.FullName + "." + plan.Written(plan.Source).Name);

        json.BeginArray("stages");
        foreach (var s in plan.Stages)
        {
            json.BeginObject()
                .Property("name", s.Name)
                .Property("method", s.Method)
                .Property("group", s.Group.Name)
                .Property("copyArguments", s.CopyArguments)
                .Strings("next", s.Next.Select(n => n.Name))
                .Strings("barrierAfter", s.BarrierAfter.Select(b => b.Name))
                .Strings("carries", s.Carries.Select(f => f.Name))
                .Strings("seeds", s.Seeds.Select(g => g.Name))
                .Strings("externalCalls", s.ExternalCalls)
                .EndObject();
        }
        json.EndArray();

        json.BeginArray("groups");
        foreach (var g in plan.Groups)
        {
            json.BeginObject()
                .Property("name", g.Name)
                .Property("queue", Weaving.Woven.GroupQueueName.For(plan.AssemblyName, g.Name))
                .Property("rank", g.Rank)
                .Property("ownsState", g.OwnsState)
                .Strings("stages", g.Stages.Select(s => s.Name))
                .Strings("state", g.OwnedFields.Where(f => f.Moves).Select(f => f.Name))
                .Strings("streamedCopies", g.StreamedCopies.Select(f => f.Name))
                .Strings("seeded", g.Seeded.Select(f => f.Name))
                .Strings("results", g.Results.Select(f => f.Name))
                .Property("checkpoints", g.Checkpoint.Count > 0)
                .Strings("fusedBecause", g.FusionReasons)
                .EndObject();
        }
        json.EndArray();

        json.BeginArray("fields");
        foreach (var f in plan.Fields)
        {
            json.BeginObject()
                .Property("name", f.Name)
                .Property("placement", f.Placement.ToString().ToLowerInvariant())
                .Property("group", f.Group?.Name ?? (f.Placement == Placement.Owned ? "Main" : null))
                .Property("moved", f.Moves)
                .Property("reason", f.Reason)
                .Property("setUpBySource", f.SetUpBySource)
                .Property("sourceReadsAfterPosts", f.SourceReadsAfterPosts.Count);
            if (f.Placement == Placement.Streamed)
                json.Property("writer", f.Writer?.Name)
                    .Strings("readers", f.Readers.Select(r => r.Name))
                    .Strings("carriers", f.Carriers.Select(c => c.Name));
            json.EndObject();
        }
        json.EndArray();

        json.BeginArray("barriers");
        foreach (var (before, after) in plan.Barriers)
            json.BeginObject().Property("before", before.Name).Property("after", after.Name).EndObject();
        json.EndArray();

        json.BeginArray("callSites");
        foreach (var c in plan.CallSites)
        {
            json.BeginObject()
                .Property("caller", plan.Describe(c.Caller))
                .Property("callee", c.Callee.DeclaringType.Name + "." + c.Callee.Name)
                .Property("cut", c.Cut)
                .Property("rule", c.Why is null ? null : ToCamelCase(c.Why.Rule.ToString()))
                .Property("reason", c.Why?.Detail)
                .Property("file", c.File)
                .Property("line", c.Line)
                .EndObject();
        }
        json.EndArray();

        json.BeginArray("diagnostics");
        foreach (var d in plan.Diagnostics)
        {
            json.BeginObject()
                .Property("id", d.Id)
                .Property("severity", d.Severity.ToString().ToLowerInvariant())
                .Property("message", d.Message)
                .Property("file", d.File)
                .Property("line", d.Line)
                .EndObject();
        }
        json.EndArray();
        return json.EndObject().ToString();
    }

    public static string Markdown(WeavingPlan plan)
    {
        var md = new StringBuilder();
        md.Append("# Stage map of ").Append(plan.AssemblyName).Append("\n\n");
        md.Append(Summary(plan)).Append("\n\n");
        md.Append("```mermaid\nflowchart LR\n");
        if (plan.Source is not null) md.Append("  Main([Main])\n");
        foreach (var g in plan.Groups)
        {
            md.Append("  subgraph ").Append(Id(g.Name)).Append("_group[\"group ").Append(g.Name).Append("\"]\n");
            foreach (var s in g.Stages) md.Append("    ").Append(Id(s.Name)).Append("[\"").Append(s.Name).Append("\"]\n");
            md.Append("  end\n");
        }
        foreach (var c in plan.CallSites.Where(c => c.Cut))
        {
            var from = plan.Source == c.Caller ? "Main" : plan.StageOf(c.Caller) is { } s ? Id(s.Name) : null;
            var to = plan.StageOf(c.Callee);
            if (from is null || to is null) continue;
            md.Append("  ").Append(from).Append(" --> ").Append(Id(to.Name)).Append('\n');
        }
        foreach (var (before, after) in plan.Barriers.Where(b => b.Before != b.After))
            md.Append("  ").Append(Id(before.Name)).Append(" -. drain before .-> ").Append(Id(after.Name)).Append('\n');
        md.Append("```\n\n");

        md.Append("## Groups\n\n| group | stages | state | queue | fused because |\n|---|---|---|---|---|\n");
        foreach (var g in plan.Groups)
            md.Append("| ").Append(g.Name).Append(" | ").Append(string.Join(", ", g.Stages.Select(s => s.Name)))
              .Append(" | ").Append(string.Join(", ", g.OwnedFields.Where(f => f.Moves).Select(f => f.Name)))
              .Append(" | weaving.").Append(plan.AssemblyName).Append('.').Append(g.Name)
              .Append(" | ").Append(Cell(string.Join("; ", g.FusionReasons))).Append(" |\n");

        md.Append("\n## Fields\n\n| field | placement | group | why |\n|---|---|---|---|\n");
        foreach (var f in plan.Fields)
            md.Append("| ").Append(f.Name).Append(" | ").Append(f.Placement.ToString().ToLowerInvariant()).Append(" | ")
              .Append(f.Group?.Name ?? (f.Placement == Placement.Owned ? "Main" : "")).Append(" | ").Append(Cell(f.Reason)).Append(" |\n");

        md.Append("\n## External calls\n\n| stage | calls |\n|---|---|\n");
        foreach (var s in plan.Stages)
            md.Append("| ").Append(s.Name).Append(" | ").Append(Cell(string.Join(", ", s.ExternalCalls))).Append(" |\n");

        md.Append("\n## Diagnostics\n\n| id | severity | where | message |\n|---|---|---|---|\n");
        foreach (var d in plan.Diagnostics)
            md.Append("| ").Append(d.Id).Append(" | ").Append(d.Severity.ToString().ToLowerInvariant()).Append(" | ")
              .Append(d.File is null ? "" : Path.GetFileName(d.File) + ":" + d.Line).Append(" | ").Append(Cell(d.Message)).Append(" |\n");
        return md.ToString();
    }

    public static string Summary(WeavingPlan plan)
    {
        var byPlacement = plan.Fields.GroupBy(f => f.Placement).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        var synchronous = plan.CallSites.Count(c => !c.Cut);
        return $"{plan.Stages.Count} stage(s) in {plan.Groups.Count} group(s); fields: {string.Join(", ", byPlacement.DefaultIfEmpty("none"))}; " +
               $"{synchronous} call site(s) left synchronous; {plan.Barriers.Count(b => b.Before != b.After)} source barrier(s).";
    }

    static string ToCamelCase(string name) => char.ToLowerInvariant(name[0]) + name.Substring(1);

    static string Id(string name) => "s_" + new string(name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
    static string Cell(string text) => text.Replace("|", "\\|").Replace("\n", " ");
}
