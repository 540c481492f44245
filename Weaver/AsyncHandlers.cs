using System.ComponentModel;
using System.Threading.Tasks;

namespace Weaving;

/// <summary>
/// What the generated code calls for an async handler (docs/design.md §1.3). A group handles one message at a time, so a
/// message's handler is waited for where it runs, its own awaits (I/O, timers) included, before the group takes its
/// next message; the caller, which unwoven awaited the handler, gets a completed task, as after a synchronous post.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class AsyncHandlers
{
    /// <summary>Waits for a handler's task; its exception is the message's failure, unwrapped.</summary>
    public static void Wait(Task task) => task.GetAwaiter().GetResult();

    /// <summary>Waits for a handler's value task; its exception is the message's failure, unwrapped.</summary>
    public static void Wait(ValueTask task) => task.GetAwaiter().GetResult();

    /// <summary>What a post to an async handler returns: the caller's <c>await</c> goes on at once.</summary>
    public static Task Posted() => Task.CompletedTask;

    /// <summary>What a post to a <see cref="ValueTask"/> handler returns.</summary>
    public static ValueTask PostedValue() => default;
}
