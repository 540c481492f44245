using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Xml.Linq;
using Fody;
using Mono.Cecil;
using Weaving.Fody;

namespace Weaving.Tests.Robustness;

/// <summary>
/// Weaves an assembly in this process, as Fody would: the real <see cref="ModuleWeaver"/>, a resolver over the assembly's
/// folder, the restored NuGet packages and the shared framework, and the log captured. Then loads the result into a
/// collectible context of its own and makes the JIT compile every method the weaver created or edited.
/// </summary>
public sealed class InProcessWeaving
{
    public List<string> Errors { get; } = [];
    public List<string> Warnings { get; } = [];
    public List<string> Messages { get; } = [];
    public ModuleWeaver Weaver { get; } = new();
    public required string OutputPath { get; init; }
    public IEnumerable<string> Log => Errors.Concat(Warnings).Concat(Messages);

    static readonly string packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    static readonly string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
    static readonly string[] frameworkPreference = ["net10.0", "net9.0", "net8.0", "netstandard2.1", "netstandard2.0"];

    /// <summary>The dll of a restored package, in the newest version and the best framework this runtime can load.</summary>
    public static string? PackageAssembly(string package, string? assemblyName = null)
    {
        var root = Path.Combine(packages, package.ToLowerInvariant());
        if (!Directory.Exists(root)) return null;
        foreach (var version in Directory.GetDirectories(root).OrderByDescending(v => Version.TryParse(Path.GetFileName(v).Split('-')[0], out var x) ? x : new Version()))
            foreach (var tfm in frameworkPreference)
            {
                var dll = Path.Combine(version, "lib", tfm, (assemblyName ?? package) + ".dll");
                var match = Directory.Exists(Path.GetDirectoryName(dll))
                    ? Directory.GetFiles(Path.GetDirectoryName(dll)!, "*.dll").FirstOrDefault(f => string.Equals(f, dll, StringComparison.OrdinalIgnoreCase))
                    : null;
                if (match is not null) return match;
            }
        return null;
    }

    static string? Locate(string name, string folder)
    {
        foreach (var dir in new[] { folder, AppContext.BaseDirectory, framework })
        {
            var candidate = Path.Combine(dir, name + ".dll");
            if (File.Exists(candidate)) return candidate;
        }
        return PackageAssembly(name);
    }

    sealed class Resolver(string folder) : BaseAssemblyResolver
    {
        readonly Dictionary<string, AssemblyDefinition> cache = new(StringComparer.OrdinalIgnoreCase);

        public override AssemblyDefinition Resolve(AssemblyNameReference name)
        {
            if (cache.TryGetValue(name.Name, out var known)) return known;
            var path = Locate(name.Name, folder) ?? throw new AssemblyResolutionException(name);
            var assembly = AssemblyDefinition.ReadAssembly(path, new ReaderParameters { AssemblyResolver = this });
            cache[name.Name] = assembly;
            return assembly;
        }

        protected override void Dispose(bool disposing)
        {
            foreach (var a in cache.Values) a.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Weaves <paramref name="assemblyPath"/> into a new file; <paramref name="prepare"/> may edit the module first.</summary>
    public static InProcessWeaving Run(string assemblyPath, Action<ModuleDefinition, ModuleDefinition>? prepare = null, string? outputDirectory = null)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!;
        var output = outputDirectory ?? Directory.CreateTempSubdirectory("weaving-robustness-").FullName;
        var result = new InProcessWeaving { OutputPath = Path.Combine(output, Path.GetFileName(assemblyPath)) };
        using var resolver = new Resolver(folder);
        var pdb = Path.ChangeExtension(assemblyPath, ".pdb");
        var readSymbols = File.Exists(pdb);
        using var module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters
        {
            AssemblyResolver = resolver, ReadSymbols = readSymbols, InMemory = true, ReadingMode = ReadingMode.Immediate,
        });
        using var runtime = ModuleDefinition.ReadModule(Path.Combine(AppContext.BaseDirectory, "Weaver.dll"));
        using var coreLibrary = ModuleDefinition.ReadModule(typeof(object).Assembly.Location);
        prepare?.Invoke(module, runtime);

        var weaver = result.Weaver;
        weaver.ModuleDefinition = module;
        weaver.AssemblyFilePath = result.OutputPath;
        weaver.Config = new XElement("Weaver");
        weaver.FindType = name => runtime.GetType(name) ?? coreLibrary.GetType(name)
            ?? coreLibrary.ExportedTypes.FirstOrDefault(t => t.FullName == name)?.Resolve()
            ?? throw new WeavingException($"type {name} not found");
        weaver.LogError = result.Errors.Add;
        weaver.LogErrorPoint = (text, _) => result.Errors.Add(text);
        weaver.LogWarning = result.Warnings.Add;
        weaver.LogWarningPoint = (text, _) => result.Warnings.Add(text);
        weaver.LogMessage = (text, _) => result.Messages.Add(text);
        weaver.LogInfo = result.Messages.Add;
        weaver.LogDebug = _ => { };
        weaver.Execute();
        module.Write(result.OutputPath, new WriterParameters { WriteSymbols = readSymbols });
        return result;
    }

    /// <summary>
    /// Loads the woven assembly into a collectible context, with a private copy of Weaver.dll and its dependencies from
    /// the original folder or the package cache, and has the JIT compile every method the weaver created or edited.
    /// Returns the methods skipped (open generics cannot be compiled without type arguments) and the failures.
    /// </summary>
    public (int Compiled, int Skipped, List<string> Failures) CompileTouchedMethods(string originalFolder)
    {
        var context = new IsolatedContext(Path.GetDirectoryName(OutputPath)!, originalFolder);
        var failures = new List<string>();
        int compiled = 0, skipped = 0;
        try
        {
            var assembly = context.LoadFromAssemblyPath(OutputPath);
            foreach (var method in Weaver.TouchedMethods)
            {
                if (method.HasGenericParameters || IsInGenericType(method.DeclaringType)) { skipped++; continue; }
                try
                {
                    var runtimeMethod = assembly.ManifestModule.ResolveMethod(method.MetadataToken.ToInt32());
                    if (runtimeMethod is null || runtimeMethod.Name != method.Name)
                    {
                        failures.Add($"{method.FullName}: the token resolves to {runtimeMethod?.Name ?? "nothing"}");
                        continue;
                    }
                    RuntimeHelpers.PrepareMethod(runtimeMethod.MethodHandle);
                    compiled++;
                }
                catch (Exception e)
                {
                    failures.Add($"{method.FullName}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        finally
        {
            context.Unload();
        }
        return (compiled, skipped, failures);
    }

    static bool IsInGenericType(TypeDefinition type)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
            if (t.HasGenericParameters) return true;
        return false;
    }

    /// <summary>A collectible context that finds the woven assembly's dependencies beside it, in its original folder, or in the package cache.</summary>
    public sealed class IsolatedContext(string wovenFolder, string originalFolder) : AssemblyLoadContext("weaving-robustness", isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null) return null;
            foreach (var dir in new[] { wovenFolder, originalFolder, AppContext.BaseDirectory })
            {
                var candidate = Path.Combine(dir, name.Name + ".dll");
                // The framework comes from the default context; everything else gets a private copy.
                if (File.Exists(candidate) && !File.Exists(Path.Combine(framework, name.Name + ".dll")))
                    return LoadFromAssemblyPath(candidate);
            }
            return File.Exists(Path.Combine(framework, name.Name + ".dll")) ? null
                : PackageAssembly(name.Name) is { } package ? LoadFromAssemblyPath(package) : null;
        }
    }
}
