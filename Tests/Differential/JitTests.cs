using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Differential;

/// <summary>
/// No IL verifier runs here, so every woven assembly is loaded and the JIT is forced over every method in it:
/// invalid IL the weaver wrote fails here with InvalidProgramException, not in a user's process.
/// </summary>
[TestClass]
public sealed class JitTests
{
    public static IEnumerable<object[]> Programs => Fixtures.Differential();

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void Every_method_of_the_woven_assembly_compiles(string name)
    {
        var fixture = Fixtures.Get(name);
        var compiled = WovenAssemblyJit.CompileEveryMethod(fixture.WovenDll);
        Assert.IsTrue(compiled > 0, $"{name}: no method was compiled, so nothing was checked.");
    }
}

public static class WovenAssemblyJit
{
    /// <summary>Loads the assembly in a collectible context and JIT-compiles every non-generic method; returns how many.</summary>
    public static int CompileEveryMethod(string path)
    {
        var context = new IsolatedContext(path);
        try
        {
            var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(path));
            var compiled = 0;
            var failures = new List<string>();
            foreach (var type in SafeTypes(assembly))
            {
                if (type.ContainsGenericParameters) continue;
                const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
                foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
                {
                    if (method.IsAbstract || method.ContainsGenericParameters || method.GetMethodBody() is null) continue;
                    try
                    {
                        RuntimeHelpers.PrepareMethod(method.MethodHandle);
                        compiled++;
                    }
                    catch (Exception e)
                    {
                        failures.Add($"{type.FullName}.{method.Name}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
            Assert.AreEqual(0, failures.Count, $"{Path.GetFileName(path)}: the JIT rejected {failures.Count} method(s):{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
            return compiled;
        }
        finally
        {
            context.Unload();
        }
    }

    static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try { return assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e)
        {
            Assert.Fail($"{assembly.GetName().Name}: types failed to load: {string.Join("; ", e.LoaderExceptions.Select(x => x?.Message))}");
            return [];
        }
    }

    // Weaver.dll and the framework come from the default context (shared, as in the host); everything else from the folder.
    sealed class IsolatedContext(string path) : AssemblyLoadContext(isCollectible: true)
    {
        readonly AssemblyDependencyResolver resolver = new(Path.GetFullPath(path));
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name == "Weaver") return null;
            var file = resolver.ResolveAssemblyToPath(name);
            return file is null ? null : LoadFromAssemblyPath(file);
        }
    }
}
