using System.Reflection;
using System.Runtime.Loader;

namespace Weaving.Host.Startup;

/// <summary>
/// Loads a woven program and its dependencies from its own folder, except the Weaving runtime (Weaver.dll), which
/// resolves to the host's copy: the program's posts must reach the <see cref="Pipeline"/> that the host configured, and
/// a second copy of the runtime would be a second Pipeline the host never sees. The framework resolves to the host's too.
/// </summary>
sealed class WovenAppLoadContext(string appPath) : AssemblyLoadContext("weaving:" + Path.GetFileNameWithoutExtension(appPath))
{
    static readonly Assembly runtime = typeof(Pipeline).Assembly;
    readonly AssemblyDependencyResolver resolver = new(appPath);

    protected override Assembly? Load(AssemblyName name)
    {
        if (name.Name == runtime.GetName().Name)
            return runtime;
        // Null for the framework: the default context, which the host shares.
        var path = resolver.ResolveAssemblyToPath(name);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
