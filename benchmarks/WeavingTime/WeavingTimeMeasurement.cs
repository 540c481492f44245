using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Mono.Cecil;
using Weaving.Benchmarks.Throughput;
using Weaving.Fody;

namespace Weaving.Benchmarks.WeavingTime;

/// <summary>
/// How long the weaver takes, and how that grows with the program: generated programs of 1,000 to 20,000 methods (one
/// handler in ten), each read with Mono.Cecil as Fody reads it, then <see cref="ModuleWeaver.Execute"/> timed alone:
/// analysis, plan, rewriting and the stage map. The best of a few rounds, each on a freshly read module.
/// </summary>
public static class WeavingTimeMeasurement
{
    static readonly (int Methods, int Handlers)[] sizes = [(1_000, 100), (5_000, 500), (10_000, 1_000), (20_000, 2_000)];

    public static string Run(int rounds)
    {
        var directory = Path.Combine(Path.GetTempPath(), "weaving-benchmark-" + Environment.ProcessId);
        Directory.CreateDirectory(directory);
        try
        {
            var weaverRuntime = Path.Combine(RepoPaths.Root, "Weaver", "bin", RepoPaths.Configuration, "net10.0", "Weaver.dll");
            if (!File.Exists(weaverRuntime)) throw new FileNotFoundException($"{weaverRuntime} is missing: build Weaver first.", weaverRuntime);
            File.Copy(weaverRuntime, Path.Combine(directory, "Weaver.dll"), overwrite: true);
            using var resolver = new DefaultAssemblyResolver();
            resolver.AddSearchDirectory(directory);
            resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
            var types = TypesOf(resolver, Path.Combine(directory, "Weaver.dll"), typeof(object).Assembly.Location);

            var rows = new List<(int Methods, int Handlers, double Milliseconds, int Stages, int Groups)>();
            // Once untimed: the JIT compiles the weaver on its first run.
            Weave(WriteProgram(directory, 1_000, 100, resolver), resolver, types);
            foreach (var (methods, handlers) in sizes)
            {
                var path = WriteProgram(directory, methods, handlers, resolver);
                var best = double.MaxValue;
                (int Stages, int Groups) plan = default;
                for (var round = 0; round < rounds; round++)
                {
                    var (milliseconds, stages, groups) = Weave(path, resolver, types);
                    best = Math.Min(best, milliseconds);
                    plan = (stages, groups);
                }
                rows.Add((methods, handlers, best, plan.Stages, plan.Groups));
                Console.Error.WriteLine($"weaving time: {methods} methods, {handlers} handlers: {best:F0} ms");
            }

            var text = new StringBuilder();
            text.AppendLine("# Weaving time").AppendLine();
            text.AppendLine($"`ModuleWeaver.Execute` alone (analysis, plan, rewriting, stage map), best of {rounds} round(s), each on a freshly read module; " +
                            $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.").AppendLine();
            text.AppendLine("| methods | handlers | stages cut | groups | time (ms) | µs per method | vs 1,000 methods |");
            text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var row in rows)
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {row.Methods:N0} | {row.Handlers:N0} | {row.Stages:N0} | {row.Groups:N0} | {row.Milliseconds:F0} | {row.Milliseconds * 1000 / row.Methods:F1} | {row.Milliseconds / rows[0].Milliseconds:F1}x |"));
            text.AppendLine();
            text.AppendLine("Linear growth would keep µs per method constant; the last column then follows the method count (1x, 5x, 10x, 20x).");
            return text.ToString();
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    static string WriteProgram(string directory, int methods, int handlers, IAssemblyResolver resolver)
    {
        var path = Path.Combine(directory, $"Generated{methods}.dll");
        GeneratedProgram.Write(path, methods, handlers, resolver);
        return path;
    }

    static (double Milliseconds, int Stages, int Groups) Weave(string path, IAssemblyResolver resolver, Dictionary<string, TypeDefinition> types)
    {
        using var module = ModuleDefinition.ReadModule(path, new ReaderParameters { AssemblyResolver = resolver, ReadSymbols = false });
        var errors = new List<string>();
        var weaver = new ModuleWeaver
        {
            ModuleDefinition = module,
            AssemblyFilePath = path,
            AssemblyResolver = resolver,
            Config = new XElement("Weaver"),
            FindType = name => types.TryGetValue(name, out var type) ? type : throw new InvalidOperationException($"type {name} not found"),
            TryFindType = (string name, out TypeDefinition? type) => types.TryGetValue(name, out type),
            ResolveAssembly = name => resolver.Resolve(AssemblyNameReference.Parse(name)),
            LogDebug = _ => { },
            LogInfo = _ => { },
            LogMessage = (_, _) => { },
            LogWarning = _ => { },
            LogWarningPoint = (_, _) => { },
            LogError = errors.Add,
            LogErrorPoint = (message, _) => errors.Add(message),
        };
        var start = Stopwatch.GetTimestamp();
        weaver.Execute();
        var milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (errors.Count > 0) throw new InvalidOperationException($"weaving {path} failed: {string.Join("; ", errors.Take(5))}");
        return (milliseconds, weaver.Plan?.Stages.Count ?? 0, weaver.Plan?.Groups.Count ?? 0);
    }

    // What FindType looks in: the runtime the woven code calls, and the core library.
    static Dictionary<string, TypeDefinition> TypesOf(IAssemblyResolver resolver, params string[] paths)
    {
        var types = new Dictionary<string, TypeDefinition>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            var assembly = AssemblyDefinition.ReadAssembly(path, new ReaderParameters { AssemblyResolver = resolver });
            foreach (var type in assembly.MainModule.GetTypes())
                types.TryAdd(type.FullName, type);
        }
        return types;
    }
}
