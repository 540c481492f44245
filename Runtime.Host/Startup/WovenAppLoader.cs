using System.Reflection;
using Weaving.Woven;

namespace Weaving.Host.Startup;

/// <summary>Loads the assembly named by --app and checks that this host can run it.</summary>
public static class WovenAppLoader
{
    public static WovenApp Load(string? appPath)
    {
        if (string.IsNullOrWhiteSpace(appPath))
            throw new HostUsageException("--app <woven dll> is required.");
        var fullPath = Path.GetFullPath(appPath);
        if (!File.Exists(fullPath))
            throw new HostUsageException($"{appPath}: no such file.");

        Assembly assembly;
        try
        {
            assembly = new WovenAppLoadContext(fullPath).LoadFromAssemblyPath(fullPath);
        }
        catch (BadImageFormatException)
        {
            throw new HostUsageException($"{appPath} is not a .NET assembly.");
        }

        // Read the attribute's data first: it says what is wrong with an assembly that WovenApp could not make sense of.
        var woven = assembly.GetCustomAttributesData()
            .FirstOrDefault(a => a.AttributeType.FullName == typeof(WovenAssemblyAttribute).FullName);
        if (woven is null)
            throw new HostUsageException($"{appPath} is not woven: build it with Weaver.Fody (a FodyWeavers.xml with <Weaver />).");
        var runtimeVersion = woven.ConstructorArguments.Count > 1 ? woven.ConstructorArguments[1].Value as string : null;
        if (runtimeVersion != WovenApp.CurrentRuntimeVersion)
            throw new HostUsageException(
                $"{appPath} was woven against Weaving runtime {runtimeVersion ?? "(unknown)"}, but this host carries runtime " +
                $"{WovenApp.CurrentRuntimeVersion}: rebuild the program against this runtime or use the host of its version.");

        try
        {
            return WovenApp.TryLoad(assembly)
                ?? throw new HostUsageException($"{appPath} is not woven.");
        }
        catch (Exception e) when (e is InvalidOperationException or TypeLoadException or FileNotFoundException)
        {
            throw new HostUsageException($"{appPath}: {e.Message}");
        }
    }
}
