using System.Reflection;
using System.Text;
using Weaving.Host.Messaging;
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

        WovenApp app;
        try
        {
            app = WovenApp.TryLoad(assembly)
                ?? throw new HostUsageException($"{appPath} is not woven.");
        }
        catch (Exception e) when (e is InvalidOperationException or TypeLoadException or FileNotFoundException)
        {
            throw new HostUsageException($"{appPath}: {e.Message}");
        }
        if (NameTooLong(app) is { } problem) throw new HostUsageException($"{appPath}: {problem}");
        return app;
    }

    /// <summary>
    /// What the broker cannot carry, or null: a stage message names its stage in the AMQP <c>type</c> property and a group
    /// its queue, both short strings of at most 255 bytes (README-wire.md). Said at start, not as a failed publish mid-run.
    /// </summary>
    public static string? NameTooLong(WovenApp app)
    {
        foreach (var stage in app.Stages)
            if (Encoding.UTF8.GetByteCount(stage.Name) is var bytes and > QueueNames.MaxBytes)
                return $"stage {stage.Name[..40]}… is named in {bytes} bytes of UTF-8, and a stage message carries its stage's name " +
                       $"in the AMQP type property, at most {QueueNames.MaxBytes}: give its handler a shorter name to run it through RabbitMQ.";
        foreach (var group in app.Groups)
        {
            var longest = QueueNames.Checkpoint(QueueNames.ForGroup(app, group));
            if (Encoding.UTF8.GetByteCount(longest) is var bytes and > QueueNames.MaxBytes)
                return $"the queues of group {group.Name} would be named in up to {bytes} bytes ({longest[..40]}…), over AMQP's " +
                       $"{QueueNames.MaxBytes}: give the assembly or the group's handlers shorter names to run it through RabbitMQ.";
        }
        return null;
    }
}
