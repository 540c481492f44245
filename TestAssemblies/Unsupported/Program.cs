// Calls the weaver does not cut, each with a warning at its line that says why and what would make it cut.
// Everything they do is logged synchronously; OnReport, the one stage, prints the log at the end.
using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

static class Program
{
    static readonly List<string> log = new();            // touched only by the source and its synchronous calls

    static void Main()
    {
        try
        {
            OnGuarded(1);                                  // WEAV010: inside try/catch
        }
        catch (InvalidOperationException e)
        {
            Log("caught " + e.Message);
        }
        OnCallback(x => x + 1);                            // WEAV012: a delegate cannot travel
        OnStream(new MemoryStream(new byte[] { 1, 2, 3 })); // WEAV012: a stream cannot travel
        OnTask(Task.FromResult(5));                        // WEAV012: a task cannot travel
        var seen = 0;
        OnCount(ref seen);                                 // WEAV017: ref parameter
        OnTry(seen, out var doubled);                      // WEAV017: out parameter
        Log("doubled " + doubled);
        OnEffect(2);                                       // WEAV011: followed by an effect
        Console.WriteLine("effect after OnEffect");
        new Counter().OnTick(3);                           // WEAV016: instance method
        new Counter().OnTick(4);                           //          (reported once)
        OnAsyncVoid(5);                                    // WEAV016: async void method
        Action later = () => OnLambdaTarget("lambda");     // WEAV016: lambda
        later();
        Action<string> group = OnLambdaTarget;             // WEAV016: method group
        group("method group");
        OnGenericItem(7).Wait();                           // WEAV016: generic async handler
        OnGenericItem("seven").Wait();                     //          (reported once)
        OnReport(string.Join(" | ", log));
    }

    static void OnGuarded(int x)
    {
        if (x > 0) throw new InvalidOperationException("guarded " + x);
    }

    static void OnCallback(Func<int, int> f) => Log("callback " + f(41));

    static void OnStream(Stream s) => Log("stream " + s.Length);

    static void OnTask(Task<int> t) => Log("task " + t.Result);

    static void OnCount(ref int n) => n += 10;

    static void OnTry(int n, out int doubled) => doubled = n * 2;

    static void OnEffect(int x) => Console.WriteLine("effect " + x);

    static async void OnAsyncVoid(int x)
    {
        Log("async " + x);
        await Task.CompletedTask;
    }

    static async Task OnGenericItem<T>(T item)
    {
        log.Add("generic " + item);
        await Task.CompletedTask;
    }

    static void OnLambdaTarget(string item) => log.Add(item);

    static void Log(string item) => log.Add(item);

    static void OnReport(string text) => Console.WriteLine(text);

    sealed class Counter
    {
        int ticks;
        public void OnTick(int n)
        {
            ticks += n;
            Log("tick " + ticks);
        }
    }
}
