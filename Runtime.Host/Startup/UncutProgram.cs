using System.Reflection;
using System.Text.Json;

namespace Weaving.Host.Startup;

/// <summary>
/// An assembly the weaver analysed and cut nothing in: its stage map (beside it) lists no stage, and it carries no woven
/// marker, since the weaver left it as it was (WEAV004). The whole program is its source: <c>--list</c> says so, and
/// <c>--stage Main</c> runs it as <c>dotnet App.dll</c> would, without a broker.
/// </summary>
public static class UncutProgram
{
    /// <summary>The assembly, when <paramref name="appPath"/> is such a program; null otherwise.</summary>
    public static Assembly? TryLoad(string? appPath)
    {
        if (string.IsNullOrWhiteSpace(appPath)) return null;
        var fullPath = Path.GetFullPath(appPath);
        var stageMap = Path.ChangeExtension(fullPath, ".stages.json");
        if (!File.Exists(fullPath) || !File.Exists(stageMap)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(stageMap));
            if (!document.RootElement.TryGetProperty("stages", out var stages) || stages.GetArrayLength() != 0) return null;
            var assembly = new WovenAppLoadContext(fullPath).LoadFromAssemblyPath(fullPath);
            return assembly.EntryPoint is null || WovenApp.TryLoad(assembly) is not null ? null : assembly;
        }
        catch (Exception e) when (e is JsonException or BadImageFormatException or IOException or InvalidOperationException)
        {
            return null;
        }
    }

    public static int Run(Assembly assembly, bool list, string? stage, string[] programArguments)
    {
        var name = assembly.GetName().Name;
        if (list)
        {
            Console.Out.WriteLine($"Main\t(the whole program: the weaver cut nothing in {name}, see {name}.stages.json)");
            return ExitCodes.Success;
        }
        if (stage != "Main")
            throw new HostUsageException($"the weaver cut nothing in {name}: it has no stage '{stage}', it runs whole as --stage Main.");
        return EntryPointCall.Run(assembly.EntryPoint!, programArguments);
    }
}

/// <summary>Calls a program's entry point as the runtime would: its arguments, its exit code, an async Main awaited.</summary>
public static class EntryPointCall
{
    public static int Run(MethodInfo entryPoint, string[] arguments)
    {
        var parameters = entryPoint.GetParameters().Length == 0 ? null : new object[] { arguments };
        var result = entryPoint.Invoke(null, parameters);
        if (result is Task task)
        {
            task.GetAwaiter().GetResult();
            result = task.GetType().GetProperty("Result")?.GetValue(task);
        }
        return result is int code ? code : Environment.ExitCode;
    }
}
