using System.Reflection;
using System.Runtime.Loader;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// TestAssemblies/Pipeline3 as the build left it: the woven assembly and the unwoven copy beside it. Each is loaded into a
/// load context of its own, with its own copy of Weaver.dll, so the two never share static state (the woven runtime
/// keeps its transport in statics). A context lives as long as the process: the woven runtime's workers stay up between
/// runs of Main, as they would between two batches of events in a long-running program.
/// </summary>
public static class Pipeline3Build
{
    static readonly string outputDirectory = Path.Combine(RepoPaths.Root, "TestAssemblies", "Pipeline3", "bin", RepoPaths.Configuration, "net10.0");

    public static string WovenDll => Path.Combine(outputDirectory, "Pipeline3.dll");
    public static string UnwovenDll => Path.Combine(outputDirectory, "unwoven", "Pipeline3.dll");

    static readonly Lazy<LoadedProgram> woven = new(() => LoadedProgram.Load(WovenDll));
    static readonly Lazy<LoadedProgram> unwoven = new(() => LoadedProgram.Load(UnwovenDll));

    public static LoadedProgram Woven => woven.Value;
    public static LoadedProgram Unwoven => unwoven.Value;

    /// <summary>What the unwoven program prints for a run: the reference every variant is checked against.</summary>
    public static string ExpectedOutput(int events, int work)
    {
        var program = LoadedProgram.Load(UnwovenDll);
        return program.Run(events, work, captureOutput: true);
    }
}

/// <summary>A program loaded in a load context of its own, its entry point callable as often as needed.</summary>
public sealed class LoadedProgram
{
    readonly Func<string[], int> main;
    readonly Assembly assembly;

    LoadedProgram(string path, Assembly assembly, Func<string[], int> main)
    {
        Path = path;
        this.assembly = assembly;
        this.main = main;
    }

    public string Path { get; }

    public static LoadedProgram Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: build it first (dotnet build -c {RepoPaths.Configuration} TestAssemblies/Pipeline3).", path);
        var context = new ProgramLoadContext(path);
        var assembly = context.LoadFromAssemblyPath(path);
        var entryPoint = assembly.EntryPoint ?? throw new InvalidOperationException($"{path} has no entry point.");
        return new LoadedProgram(path, assembly, entryPoint.CreateDelegate<Func<string[], int>>());
    }

    /// <summary>Runs Main with <c>events work</c>; returns what it printed when <paramref name="captureOutput"/>.</summary>
    public string Run(int events, int work, bool captureOutput)
    {
        var previous = Console.Out;
        var output = captureOutput ? new StringWriter() : TextWriter.Null;
        Console.SetOut(output);
        int exitCode;
        try
        {
            exitCode = main([events.ToString(System.Globalization.CultureInfo.InvariantCulture), work.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
        finally
        {
            Console.SetOut(previous);
        }
        if (exitCode != 0) throw new InvalidOperationException($"{Path} exited with {exitCode}.");
        return output.ToString() ?? "";
    }

    /// <summary>What the woven runtime in this context measured and decided, per group; empty for an unwoven program.</summary>
    public string RuntimeStatistics()
    {
        var context = AssemblyLoadContext.GetLoadContext(assembly)!;
        var pipeline = context.Assemblies.FirstOrDefault(a => a.GetName().Name == "Weaver")?.GetType("Weaving.Pipeline");
        var transport = pipeline?.GetProperty("Transport")?.GetValue(null);
        var statistics = transport?.GetType().GetProperty("Statistics")?.GetValue(transport) as System.Collections.IEnumerable;
        return statistics is null ? "" : string.Join("; ", statistics.Cast<object>());
    }

    sealed class ProgramLoadContext(string mainAssemblyPath) : AssemblyLoadContext(System.IO.Path.GetFileName(mainAssemblyPath), isCollectible: false)
    {
        readonly AssemblyDependencyResolver resolver = new(mainAssemblyPath);

        // The program's own assemblies (itself, Weaver.dll) come from its folder; the framework is shared.
        protected override Assembly? Load(AssemblyName name) =>
            resolver.ResolveAssemblyToPath(name) is { } path ? LoadFromAssemblyPath(path) : null;
    }
}

/// <summary>Where the repository and the build this benchmark belongs to are.</summary>
public static class RepoPaths
{
    static readonly IReadOnlyDictionary<string, string?> metadata = typeof(RepoPaths).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);

    public static string Root { get; } = metadata["RepoRoot"] ?? throw new InvalidOperationException("RepoRoot metadata missing.");
    public static string Configuration { get; } = metadata["Configuration"] ?? "Release";
}
