// A three-group event-loop program written by hand the way the weaver leaves it, so that the distributed host can be
// tested before the weaver emits real woven assemblies. The original, unwoven program is:
//
//     static int Main(string[] args)
//     {
//         Console.WriteLine(...);
//         foreach (var line in GenerateText(...)) OnLine(line);   // source -> Parse
//         OnEnd();                                                // source -> Aggregate, after a drain
//         return 0;
//     }
//     static void OnLine(string line) { foreach (var w in line.Split(...)) OnWord(w.ToLowerInvariant()); }
//     static void OnWord(string word) { words++; counts[word] = ...; }   // state: counts, words
//     static void OnEnd() { print the report }
//
// Weaving cuts the three continuation calls. OnLine touches no state: group Parse, stateless, rank 0. OnWord and OnEnd
// share counts and words: fused into group Aggregate, which owns that state, rank 1. The source reaches Aggregate along
// two paths (through OnLine, and directly through OnEnd): the join rule makes the source drain before posting OnEnd,
// written as BarrierAfter = { "OnLine" } on stage OnEnd.
//
// Arguments: [lines] [minimum words per line] [poison]. With "poison", some lines carry the word "poison", on which
// OnWord throws: those messages fail, and the run must end with a non-zero exit code.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Weaving;
using Weaving.Woven;

[assembly: WovenAssembly("handwoven-0001", "0.1.0.0")]
[assembly: WovenGroup("Parse", 0, false)]
[assembly: WovenGroup("Aggregate", 1, true)]
[assembly: WovenStage("OnLine", "Parse", typeof(OnLineMessage), false, new string[0])]
[assembly: WovenStage("OnWord", "Aggregate", typeof(OnWordMessage), false, new string[0])]
[assembly: WovenStage("OnEnd", "Aggregate", typeof(OnEndMessage), false, new[] { "OnLine" })]

static class Program
{
    static readonly char[] Separators = { ' ', ',', '.', ';', '!', '?' };

    // Owned by group Aggregate: only its worker (or the one host process that consumes it) touches them.
    static readonly Dictionary<string, int> counts = new();
    static int words;

    static int Main(string[] args)
    {
        Pipeline.StartSource(typeof(Program));
        var lines = args.Length > 0 ? int.Parse(args[0]) : 300;
        var wordsPerLine = args.Length > 1 ? int.Parse(args[1]) : 4;
        var poison = args.Length > 2 && args[2] == "poison";
        Console.WriteLine($"handwoven: {lines} lines");
        foreach (var line in GenerateText(lines, wordsPerLine, poison))
            Post_OnLine(line);
        Post_OnEnd();
        return Pipeline.FinishSource(0);
    }

    // Deterministic text, so that every run compares with every other.
    static IEnumerable<string> GenerateText(int lineCount, int wordsPerLine, bool poison)
    {
        string[] vocabulary = { "Pipeline", "stage", "event", "loop", "handler", "message", "state", "worker", "queue", "broker", "weave", "STATIC" };
        var random = new Random(7);
        for (var i = 0; i < lineCount; i++)
        {
            var n = wordsPerLine + random.Next(4);
            var picked = new string[n];
            for (var j = 0; j < n; j++) picked[j] = vocabulary[random.Next(vocabulary.Length)];
            if (poison && i % 50 == 25) picked[0] = "poison";
            yield return string.Join(Joiner(i), picked);
        }

        static string Joiner(int i) => (i % 3) switch { 0 => " ", 1 => ", ", _ => ". " };
    }

    internal static void OnLine(string line)
    {
        foreach (var word in line.Split(Separators, StringSplitOptions.RemoveEmptyEntries))
            Post_OnWord(word.ToLowerInvariant());
    }

    internal static void OnWord(string word)
    {
        if (word == "poison") throw new InvalidOperationException("poisoned word");
        words++;
        counts[word] = counts.TryGetValue(word, out var n) ? n + 1 : 1;
    }

    internal static void OnEnd()
    {
        Console.WriteLine($"{counts.Count} distinct words, {words} words");
        foreach (var (word, n) in counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
            Console.WriteLine($"{n,8} {word}");
    }

    // The generated Post stubs: each continuation call site was redirected to one of these.
    [CompilerGenerated] static void Post_OnLine(string line) => Pipeline.Post(new OnLineMessage { line = line });
    [CompilerGenerated] static void Post_OnWord(string word) => Pipeline.Post(new OnWordMessage { word = word });
    [CompilerGenerated] static void Post_OnEnd() => Pipeline.Post(new OnEndMessage());
}

// The generated message types: the handler's parameters as public fields, Invoke calls the handler.
[CompilerGenerated]
sealed class OnLineMessage : StageMessage
{
    public string line;
    public override void Invoke() => Program.OnLine(line);
}

[CompilerGenerated]
sealed class OnWordMessage : StageMessage
{
    public string word;
    public override void Invoke() => Program.OnWord(word);
}

[CompilerGenerated]
sealed class OnEndMessage : StageMessage
{
    public override void Invoke() => Program.OnEnd();
}
