namespace Weaving.Tests.Infrastructure;

/// <summary>
/// The programs of TestAssemblies/, as the build left them: each woven by Fody in
/// <c>TestAssemblies/&lt;Name&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;Name&gt;.dll</c>, with its stage map beside it,
/// and the compiler's unwoven output in the <c>unwoven/</c> folder below.
/// </summary>
public sealed record Fixture(string Name, string OutputDirectory)
{
    public string WovenDll => Path.Combine(OutputDirectory, Name + ".dll");
    public string UnwovenDll => Path.Combine(OutputDirectory, "unwoven", Name + ".dll");
    public string StageMapJson => Path.Combine(OutputDirectory, Name + ".stages.json");
    public string StageMapMarkdown => Path.Combine(OutputDirectory, Name + ".stages.md");
    public override string ToString() => Name;
}

public static class Fixtures
{
    /// <summary>
    /// Fixtures that are not event-loop programs for the differential run: the package smoke test, broken configs, a
    /// failing program, a library, a program with nothing to cut (comparing it with itself would prove nothing), and one
    /// whose state cannot cross processes by design (ComparerState: its run through the broker must fail, saying why).
    /// </summary>
    static readonly HashSet<string> notDifferential = new(StringComparer.Ordinal) { "Smoke", "BadConfig", "Faulty", "StageLibrary", "NothingToCut", "ComparerState" };

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    public static Fixture Get(string name)
    {
        var dir = Path.Combine(RepoRoot, "TestAssemblies", name, "bin", Configuration, "net10.0");
        var fixture = new Fixture(name, dir);
        if (!File.Exists(fixture.WovenDll))
            Assert.Fail($"{fixture.WovenDll} is missing: build the solution first (dotnet build Weaving.sln -c {Configuration}).");
        if (!File.Exists(fixture.UnwovenDll))
            Assert.Fail($"{fixture.UnwovenDll} is missing: TestAssemblies/Directory.Build.targets should have kept the unwoven copy.");
        return fixture;
    }

    /// <summary>Every program in TestAssemblies/ that takes part in the differential runs.</summary>
    public static IEnumerable<object[]> Differential() =>
        Directory.GetDirectories(Path.Combine(RepoRoot, "TestAssemblies"))
            .Select(Path.GetFileName)
            .Where(n => n is not null && !notDifferential.Contains(n)
                        && File.Exists(Path.Combine(RepoRoot, "TestAssemblies", n, n + ".csproj"))
                        // hand-written stand-ins for woven code are not woven by the build
                        && !File.ReadAllText(Path.Combine(RepoRoot, "TestAssemblies", n, n + ".csproj")).Contains("<DisableFody>true</DisableFody>"))
            .OrderBy(n => n, StringComparer.Ordinal)
            .Select(n => new object[] { n! });

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Weaving.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"Weaving.sln not found above {AppContext.BaseDirectory}.");
    }
}
