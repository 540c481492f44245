using Weaving.InMemory;

namespace Weaving;

/// <summary>
/// Where a stage's posts can go without a message: the generated Post stub reads its stage's route (a static field of
/// the message type, <see cref="FieldName"/>) and asks <see cref="Pipeline.TryRunInline"/> before it allocates
/// anything. Only the in-memory transport sets routes; under a broker transport the field stays null and every post
/// becomes a message.
/// </summary>
public sealed class StageRoute
{
    /// <summary>Name of the static field the weaver adds to every generated message type.</summary>
    public const string FieldName = "<Route>";

    internal StageRoute(StageInfo stage, GroupWorker worker)
    {
        Stage = stage;
        Worker = worker;
    }

    public StageInfo Stage { get; }

    internal GroupWorker Worker { get; }

    public override string ToString() => Stage.Name;
}
