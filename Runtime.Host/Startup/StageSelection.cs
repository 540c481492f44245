namespace Weaving.Host.Startup;

/// <summary>What this process runs: the entry point as the event source, and the stage groups it consumes.</summary>
public sealed record StageSelection(bool RunsSource, IReadOnlyList<GroupInfo> Groups)
{
    public const string Source = "Main";
    public const string Everything = "all";

    /// <summary>
    /// Resolves <c>--stage</c>: <c>Main</c>, <c>all</c>, or names of stages or groups. Naming any stage of a group runs the
    /// whole group, since its stages share one state object and one worker.
    /// </summary>
    public static StageSelection Parse(WovenApp app, string? names)
    {
        if (string.IsNullOrWhiteSpace(names))
            throw new HostUsageException("--stage <name> is required (or --list to see the stages).");
        var runsSource = false;
        var groups = new HashSet<GroupInfo>();
        foreach (var name in names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (name == Source)
            {
                if (app.Assembly.EntryPoint is null)
                    throw new HostUsageException($"{app.Name} has no entry point, so no stage {Source}.");
                runsSource = true;
            }
            else if (name.Equals(Everything, StringComparison.OrdinalIgnoreCase))
                groups.UnionWith(app.Groups);
            else if (app.FindStage(name) is { } stage)
                groups.Add(stage.Group);
            else if (app.FindGroup(name) is { } group)
                groups.Add(group);
            else
                throw new HostUsageException(
                    $"{app.Name} has no stage or group '{name}'; stages: {string.Join(", ", [Source, .. app.Stages.Select(s => s.Name)])}.");
        }
        return new StageSelection(runsSource, app.Groups.Where(groups.Contains).ToArray());
    }
}
