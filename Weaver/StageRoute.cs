using Weaving.InMemory;

namespace Weaving;

/// <summary>
/// Where a stage's posts can go without a message: the generated Post stub reads its stage's route (a static field of
/// the message type, <see cref="FieldName"/>) and asks <see cref="Pipeline.TryRunInline"/> before it allocates
/// anything. A woven entry point's description makes the routes (<see cref="Woven.WovenAppDescription.Stage"/>), the
/// in-memory transport gives them their group's worker when it starts (or, for an app read from its attributes, makes
/// them on each stage's first post). Under a broker transport a route has no worker and every post becomes a message.
/// </summary>
public sealed class StageRoute
{
    /// <summary>Name of the static field the weaver adds to every generated message type.</summary>
    public const string FieldName = "<Route>";

    internal StageRoute(StageInfo? stage = null, GroupWorker? worker = null)
    {
        Stage = stage!;
        Worker = worker;
    }

    /// <summary>The stage; set before the route is used.</summary>
    public StageInfo Stage { get; internal set; }

    /// <summary>The stage group's worker in memory; null until the in-memory transport starts, and under a broker.</summary>
    internal GroupWorker? Worker { get; set; }

    public override string ToString() => Stage.Name;
}
