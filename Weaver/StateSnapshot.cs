namespace Weaving;

/// <summary>
/// Base of the generated snapshot messages of a group (docs/design.md §6): its public fields hold some of the program's
/// state, <see cref="Capture"/> reads them from this process and <see cref="Apply"/> writes them into it. A seed carries
/// what the source set up to the process that runs the group (its Invoke applies it there); a results snapshot carries
/// the group's state back to the source once its work has finished (its Invoke captures it there).
/// </summary>
public abstract class StateSnapshot : StageMessage
{
    /// <summary>Reads the values from this process's state into the fields.</summary>
    public abstract void Capture();

    /// <summary>Writes the fields into this process's state.</summary>
    public abstract void Apply();
}

/// <summary>What a stage of a woven assembly is for: a handler, or the exchange of state with the source.</summary>
public enum StageKind
{
    /// <summary>Runs a handler of the program.</summary>
    Handler,
    /// <summary>Applies what the source set up (a <see cref="StateSnapshot"/>), before any other message of the run reaches the group.</summary>
    Seed,
    /// <summary>Captures the group's state for the source to read after its posts (a <see cref="StateSnapshot"/>).</summary>
    Results,
    /// <summary>
    /// Everything the group holds (its owned fields and what the source set up for it): a host captures it between
    /// messages and keeps it in the broker, so that another host can go on from it (docs/design.md §6). Never a message.
    /// </summary>
    Checkpoint,
}

/// <summary>
/// A transport that runs groups in other processes: the source's set-up values must be sent to them, and the results
/// it reads must be fetched from them. The in-memory transport shares one process's state and needs neither.
/// </summary>
public interface IStateExchange
{
    /// <summary>Sends a seed and returns once the broker holds it ahead of anything the source posts next.</summary>
    void Seed(in Execution.Envelope seed);

    /// <summary>The state of a group, captured where it runs, once all work sent so far has finished.</summary>
    StateSnapshot FetchResults(StageInfo resultsStage);
}
