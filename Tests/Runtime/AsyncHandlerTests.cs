namespace Weaving.Tests.Runtime;

/// <summary>
/// docs/design.md §1.3: an async handler is waited for where it runs, and its continuations run there too, so what it
/// posts after an await of its own is still its group's post, in order (not a post from some thread-pool thread).
/// </summary>
[TestClass]
public sealed class AsyncHandlerTests
{
    [TestMethod]
    public void The_continuations_of_an_async_handler_run_on_the_thread_that_waits_for_it()
    {
        var waiting = Environment.CurrentManagedThreadId;
        var seen = new List<int>();
        async Task Handler()
        {
            seen.Add(Environment.CurrentManagedThreadId);
            await Task.Yield();
            seen.Add(Environment.CurrentManagedThreadId);
            await Task.Delay(5);
            seen.Add(Environment.CurrentManagedThreadId);
        }

        var previous = AsyncHandlers.Begin();
        AsyncHandlers.Wait(Handler(), previous);

        CollectionAssert.AreEqual(new[] { waiting, waiting, waiting }, seen);
        Assert.AreSame(previous, SynchronizationContext.Current, "the caller's context is back");
    }

    [TestMethod]
    public void An_async_handler_that_throws_after_an_await_fails_with_its_own_exception()
    {
        async ValueTask Handler()
        {
            await Task.Yield();
            throw new InvalidOperationException("after an await");
        }

        var previous = AsyncHandlers.Begin();
        var thrown = Assert.ThrowsExactly<InvalidOperationException>(() => AsyncHandlers.Wait(Handler(), previous));
        Assert.AreEqual("after an await", thrown.Message);
        Assert.AreSame(previous, SynchronizationContext.Current);
    }
}
