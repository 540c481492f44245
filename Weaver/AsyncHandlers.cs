using System.Collections.Generic;
using System.ComponentModel;
using System.Threading;
using System.Threading.Tasks;

namespace Weaving;

/// <summary>
/// What the generated code calls for an async handler (docs/design.md §1.3). A group handles one message at a time, so a
/// message's handler is waited for where it runs, its own awaits (I/O, timers) included, before the group takes its
/// next message; the caller, which unwoven awaited the handler, gets a completed task, as after a synchronous post.
/// While it is waited for, the handler's continuations run on the waiting thread (<see cref="Begin"/>): they are still
/// the group's handler, and what they post is the group's, in order.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class AsyncHandlers
{
    /// <summary>Before an async handler is called: its continuations come back to this thread. Returns what to restore.</summary>
    public static SynchronizationContext? Begin()
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new HandlerContext());
        return previous;
    }

    /// <summary>Waits for a handler's task, running its continuations here; its exception is the message's failure, unwrapped.</summary>
    public static void Wait(Task task, SynchronizationContext? previous)
    {
        try
        {
            (SynchronizationContext.Current as HandlerContext)?.RunUntil(task);
            task.GetAwaiter().GetResult();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    /// <summary>Waits for a handler's value task, running its continuations here.</summary>
    public static void Wait(ValueTask task, SynchronizationContext? previous) =>
        Wait(task.IsCompletedSuccessfully ? Task.CompletedTask : task.AsTask(), previous);

    /// <summary>What a post to an async handler returns: the caller's <c>await</c> goes on at once.</summary>
    public static Task Posted() => Task.CompletedTask;

    /// <summary>What a post to a <see cref="ValueTask"/> handler returns.</summary>
    public static ValueTask PostedValue() => default;

    // The continuations of one handler run, one after the other, on the thread that waits for it.
    sealed class HandlerContext : SynchronizationContext
    {
        // Two queues of references, side by side, under one lock: a queue of (callback, state) tuples would be a framework
        // generic over a value type, compiled at run time in every program with an async handler (see EnvelopeList).
        readonly Queue<SendOrPostCallback> work = new();
        readonly Queue<object?> states = new();

        public override void Post(SendOrPostCallback d, object? state)
        {
            lock (work)
            {
                work.Enqueue(d);
                states.Enqueue(state);
                Monitor.Pulse(work);
            }
        }

        public override void Send(SendOrPostCallback d, object? state) => d(state);

        public override SynchronizationContext CreateCopy() => this;

        public void RunUntil(Task task)
        {
            task.ContinueWith(static (_, self) =>
            {
                var context = (HandlerContext)self!;
                lock (context.work) Monitor.Pulse(context.work);
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            while (true)
            {
                SendOrPostCallback callback;
                object? state;
                lock (work)
                {
                    while (work.Count == 0 && !task.IsCompleted) Monitor.Wait(work);
                    if (work.Count == 0) return;
                    callback = work.Dequeue();
                    state = states.Dequeue();
                }
                callback(state);
            }
        }
    }
}
