namespace Weaving.Execution;

/// <summary>A message on its way to a stage, with its id.</summary>
public readonly record struct Envelope(StageInfo Stage, StageMessage Message, MessageId Id);

/// <summary>A handler that threw: the message failed, its posts were discarded.</summary>
public sealed record HandlerFailure(Envelope Message, Exception Exception)
{
    /// <summary>How many times the handler ran (1, plus the retries it was given).</summary>
    public int Attempts { get; init; } = 1;

    public override string ToString() =>
        $"stage {Message.Stage.Name} failed message {Message.Id}: {Exception.GetType().FullName}: {Exception.Message}";
}
