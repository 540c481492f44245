namespace Weaving;

/// <summary>
/// Base of every generated message type: public fields hold the handler's arguments,
/// <see cref="Invoke"/> calls the handler with them.
/// </summary>
public abstract class StageMessage
{
    /// <summary>Runs the stage's handler with this message's arguments.</summary>
    public abstract void Invoke();
}
