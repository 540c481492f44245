using Weaving.Host.Messaging;

namespace Weaving.Host.Startup;

/// <summary><c>--list</c>: one line per group; <c>--list --json</c>: the stage map the weaver embedded.</summary>
public static class StageListing
{
    /// <summary>Tab-separated: group, its stages (comma separated), whether it owns state, its queue.</summary>
    public static void Write(WovenApp app, bool json, TextWriter output)
    {
        if (json)
        {
            output.WriteLine(app.ReadStageMap());
            return;
        }
        foreach (var group in app.Groups)
            output.WriteLine(string.Join('\t',
                group.Name,
                // The stages that exchange state with the source are the group's own business.
                string.Join(',', group.Stages.Where(s => s.Kind == StageKind.Handler).Select(s => s.Name)),
                group.OwnsState ? "owns state" : "stateless",
                QueueNames.ForGroup(app, group)));
    }
}
