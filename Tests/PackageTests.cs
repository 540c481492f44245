using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests;

/// <summary>
/// The NuGet package as a user gets it: its layout, and TestAssemblies/Smoke built from it (not from the solution)
/// in a temporary folder with its own packages folder, so that a repacked version is never served from a cache.
/// Needs `dotnet pack Weaver/Weaver.csproj -c Release -o nuget` first; ./build.sh test does it.
/// </summary>
[TestClass]
public sealed class PackageTests
{
    const string FodyVersion = "6.9.3";

    static readonly string[] requiredEntries =
    [
        "lib/net10.0/Weaver.dll",
        "lib/net10.0/Weaver.xml",
        "weaver/Weaver.Fody.dll",
        "weaver/Weaver.Fody.xcf",
        "build/Weaver.Fody.props",
        "build/Weaver.Fody.targets",
        "Weaver.Fody.nuspec",
    ];

    static readonly Lazy<SmokeBuild> smoke = new(SmokeBuild.Run);

    /// <summary>The version packed by this build: the runtime's own version, as Directory.Build.props sets it.</summary>
    static string PackageVersion { get; } =
        typeof(WovenApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    static string PackagePath { get; } = Path.Combine(Fixtures.RepoRoot, "nuget", $"Weaver.Fody.{PackageVersion}.nupkg");

    [ClassCleanup]
    public static void DeleteSmokeFolder()
    {
        if (smoke.IsValueCreated) smoke.Value.Delete();
    }

    [TestMethod]
    public void PackageHoldsTheRuntimeTheWeaverItsSchemaAndTheBuildFiles()
    {
        using var package = OpenPackage();
        var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        var missing = requiredEntries.Where(e => !entries.Contains(e)).ToList();
        Assert.IsEmpty(missing,
            $"{PackagePath} lacks {string.Join(", ", missing)}. It holds: {string.Join(", ", entries.Order(StringComparer.Ordinal))}");
    }

    [TestMethod]
    public void NuspecNamesThePackageAndDependsOnFodyWithEveryAsset()
    {
        using var package = OpenPackage();
        var nuspec = ReadXml(package, "Weaver.Fody.nuspec");
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        Assert.AreEqual("Weaver.Fody", metadata.Elements().Single(e => e.Name.LocalName == "id").Value);
        Assert.AreEqual(PackageVersion, metadata.Elements().Single(e => e.Name.LocalName == "version").Value);

        var fody = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "Fody").ToList();
        Assert.IsNotEmpty(fody, $"the nuspec declares no dependency on Fody:{Environment.NewLine}{nuspec}");
        foreach (var dependency in fody)
        {
            Assert.AreEqual(FodyVersion, (string?)dependency.Attribute("version"), $"Fody dependency: {dependency}");
            // As Fody add-ins declare it (PrivateAssets="None" in the package project): nothing excluded.
            var exclude = (string?)dependency.Attribute("exclude") ?? "";
            Assert.AreEqual("", exclude, $"the Fody dependency excludes assets: {dependency}");
        }
    }

    [TestMethod]
    public void PropsRegistersTheWeaverWithFody()
    {
        using var package = OpenPackage();
        var props = ReadXml(package, "build/Weaver.Fody.props");
        var includes = props.Descendants().Where(e => e.Name.LocalName == "WeaverFiles")
            .Select(e => ((string?)e.Attribute("Include") ?? "").Replace('/', '\\')).ToList();
        Assert.IsTrue(
            includes.Any(i => i.Equals(@"$(MsBuildThisFileDirectory)..\weaver\Weaver.Fody.dll", StringComparison.OrdinalIgnoreCase)),
            $"build/Weaver.Fody.props should add <WeaverFiles Include=\"$(MsBuildThisFileDirectory)..\\weaver\\Weaver.Fody.dll\" />; it adds: {string.Join(", ", includes)}");
    }

    [TestMethod]
    public void TargetsCopyTheStageMapToTheOutput()
    {
        using var package = OpenPackage();
        var targets = ReadXml(package, "build/Weaver.Fody.targets");
        var text = targets.ToString();
        Assert.Contains(".stages.json", text, "build/Weaver.Fody.targets does not mention the JSON stage map");
        Assert.Contains(".stages.md", text, "build/Weaver.Fody.targets does not mention the Markdown stage map");
        Assert.IsTrue(targets.Descendants().Any(e => e.Name.LocalName == "Copy"), "build/Weaver.Fody.targets copies nothing");
    }

    [TestMethod]
    public void SchemaFragmentDocumentsEveryOption()
    {
        using var package = OpenPackage();
        var schema = ReadXml(package, "weaver/Weaver.Fody.xcf");
        XNamespace xs = "http://www.w3.org/2001/XMLSchema";
        Assert.AreEqual(xs + "complexType", schema.Root!.Name, "Fody expects an xs:complexType fragment in the .xcf");
        var attributes = schema.Root.Elements(xs + "attribute").ToDictionary(a => (string)a.Attribute("name")!);
        foreach (var (name, type) in new[] { ("StageMap", "xs:boolean"), ("Verbose", "xs:boolean"), ("Exclude", "xs:string") })
        {
            Assert.IsTrue(attributes.TryGetValue(name, out var attribute), $"weaver/Weaver.Fody.xcf does not declare the {name} option");
            Assert.AreEqual(type, (string?)attribute.Attribute("type"), $"type of the {name} option");
            Assert.IsFalse(string.IsNullOrWhiteSpace(attribute.Descendants(xs + "documentation").SingleOrDefault()?.Value),
                $"the {name} option has no xs:documentation");
        }
    }

    [TestMethod]
    public void PackagedAssembliesAreTheOnesTheSolutionBuilt()
    {
        using var package = OpenPackage();
        foreach (var (entry, built) in new[]
                 {
                     ("weaver/Weaver.Fody.dll", Path.Combine(Fixtures.RepoRoot, "Weaver.Fody", "bin", "Release", "netstandard2.0", "Weaver.Fody.dll")),
                     ("lib/net10.0/Weaver.dll", Path.Combine(Fixtures.RepoRoot, "Weaver", "bin", "Release", "net10.0", "Weaver.dll")),
                 })
        {
            if (!File.Exists(built))
                Assert.Inconclusive($"{built} is missing: build the solution in Release to compare the package with it.");
            using var packed = new MemoryStream();
            using (var stream = package.GetEntry(entry)!.Open()) stream.CopyTo(packed);
            Assert.IsTrue(packed.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(built)),
                $"{entry} in {PackagePath} differs from {built}: the package is stale. Run dotnet pack Weaver/Weaver.csproj -c Release -o nuget.");
        }
    }

    [TestMethod]
    public void SmokeBuildFromThePackageSucceeds() => smoke.Value.AssertSucceeded(withLog: true);

    [TestMethod]
    public void SmokeBuildWritesTheStageMapBesideTheAssembly()
    {
        var build = smoke.Value;
        build.AssertSucceeded();
        foreach (var file in new[] { "Smoke.stages.json", "Smoke.stages.md" })
            Assert.IsTrue(File.Exists(Path.Combine(build.OutputDirectory, file)),
                $"{file} is not beside Smoke.dll in {build.OutputDirectory}: the weaver should write it into obj/ and " +
                $"build/Weaver.Fody.targets copy it. Output folder: {string.Join(", ", Directory.GetFiles(build.OutputDirectory).Select(Path.GetFileName))}");
    }

    [TestMethod]
    public void SmokeAssemblyIsWoven()
    {
        var build = smoke.Value;
        build.AssertSucceeded();
        var attributes = AssemblyAttributeTypes(build.AssemblyPath);
        CollectionAssert.Contains(attributes, "Weaving.Woven.WovenAssemblyAttribute",
            $"Smoke.dll built from the package carries no WovenAssemblyAttribute: Fody ran, but the weaver did not weave it. " +
            $"Assembly attributes: {string.Join(", ", attributes)}{Environment.NewLine}Build output:{Environment.NewLine}{build.Log}");
    }

    [TestMethod]
    public void SmokeProgramPrintsTheExpectedResult()
    {
        var build = smoke.Value;
        build.AssertSucceeded();
        var expected = File.ReadAllText(Path.Combine(SmokeBuild.ProjectDirectory, "expected-output.txt"));
        var run = ProcessRunner.RunDotnet(build.AssemblyPath);
        Assert.AreEqual(0, run.ExitCode, $"the woven Smoke program failed:{Environment.NewLine}{run}");
        Assert.AreEqual(Normalize(expected), Normalize(run.StandardOutput), $"the woven Smoke program printed something else:{Environment.NewLine}{run}");
    }

    static ZipArchive OpenPackage()
    {
        if (!File.Exists(PackagePath))
            Assert.Fail($"{PackagePath} is missing: run dotnet pack Weaver/Weaver.csproj -c Release -o nuget (./build.sh test does).");
        return ZipFile.OpenRead(PackagePath);
    }

    static XDocument ReadXml(ZipArchive package, string entryName)
    {
        var entry = package.GetEntry(entryName) ?? throw new AssertFailedException($"{PackagePath} has no {entryName}");
        using var stream = entry.Open();
        return XDocument.Load(stream);
    }

    /// <summary>Full names of the types of the assembly-level attributes, read without loading the assembly.</summary>
    static List<string> AssemblyAttributeTypes(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var metadata = pe.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
        {
            var constructor = metadata.GetCustomAttribute(handle).Constructor;
            var type = constructor.Kind switch
            {
                HandleKind.MemberReference => metadata.GetMemberReference((MemberReferenceHandle)constructor).Parent,
                HandleKind.MethodDefinition => metadata.GetMethodDefinition((MethodDefinitionHandle)constructor).GetDeclaringType(),
                _ => default(EntityHandle),
            };
            if (type.Kind == HandleKind.TypeReference)
            {
                var reference = metadata.GetTypeReference((TypeReferenceHandle)type);
                names.Add($"{metadata.GetString(reference.Namespace)}.{metadata.GetString(reference.Name)}");
            }
            else if (type.Kind == HandleKind.TypeDefinition)
            {
                var definition = metadata.GetTypeDefinition((TypeDefinitionHandle)type);
                names.Add($"{metadata.GetString(definition.Namespace)}.{metadata.GetString(definition.Name)}");
            }
        }
        return names;
    }

    static string Normalize(string text) => text.Replace("\r\n", "\n").TrimEnd();

    /// <summary>TestAssemblies/Smoke restored and built from nuget/ into a temporary folder, once per run.</summary>
    sealed class SmokeBuild
    {
        public static string ProjectDirectory => Path.Combine(Fixtures.RepoRoot, "TestAssemblies", "Smoke");

        SmokeBuild(string root, ProcessResult result)
        {
            Root = root;
            Result = result;
        }

        public string Root { get; }
        public ProcessResult Result { get; }
        public string OutputDirectory => Path.Combine(Root, "bin");
        public string AssemblyPath => Path.Combine(OutputDirectory, "Smoke.dll");
        public string Log => Result.ToString();

        public static SmokeBuild Run()
        {
            if (!File.Exists(PackagePath))
                Assert.Fail($"{PackagePath} is missing: run dotnet pack Weaver/Weaver.csproj -c Release -o nuget (./build.sh test does).");
            var root = Path.Combine(Path.GetTempPath(), "weaving-smoke-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(root);
            string[] args =
            [
                "build", Path.Combine(ProjectDirectory, "Smoke.csproj"), "-c", "Release",
                "--packages", Path.Combine(root, "packages"),  // NuGet caches by version: a repacked 0.1.0 must not be served stale
                "-o", Path.Combine(root, "bin"),
                $"-p:BaseIntermediateOutputPath={Path.Combine(root, "obj")}{Path.DirectorySeparatorChar}",
                $"-p:WeaverFodyVersion={PackageVersion}",
                "-nodeReuse:false", "-tl:off", "-nologo",
            ];
            using var running = new RunningProcess(System.Diagnostics.Process.Start(CleanDotnetStartInfo(args))!);
            return new SmokeBuild(root, running.WaitForExit(TimeSpan.FromMinutes(5)));
        }

        /// <summary>Fails when the build did; the whole log only once (<paramref name="withLog"/>), its errors elsewhere.</summary>
        public void AssertSucceeded(bool withLog = false)
        {
            if (Result.ExitCode != 0)
            {
                var errors = Result.StandardOutput.Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Distinct();
                Assert.Fail($"building TestAssemblies/Smoke from {PackagePath} failed (the weaver in the package must load, " +
                            $"find ModuleWeaver and weave without errors):{Environment.NewLine}" +
                            (withLog ? Log : string.Join(Environment.NewLine, errors) + $"{Environment.NewLine}(whole log: {nameof(SmokeBuildFromThePackageSucceeds)})"));
            }
            if (!File.Exists(AssemblyPath))
                Assert.Fail($"the Smoke build succeeded but wrote no {AssemblyPath}:{Environment.NewLine}{Log}");
        }

        public void Delete()
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        /// <summary>
        /// `dotnet` without the MSBuild variables that `dotnet test` leaves in the test host's environment: inherited,
        /// they would point the nested build at the outer build's MSBuild and SDK resolver.
        /// </summary>
        static System.Diagnostics.ProcessStartInfo CleanDotnetStartInfo(IEnumerable<string> args)
        {
            var info = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = ProjectDirectory,
            };
            foreach (var arg in args) info.ArgumentList.Add(arg);
            foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
                info.Environment.Remove(key);
            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            info.Environment["DOTNET_NOLOGO"] = "1";
            return info;
        }
    }
}
