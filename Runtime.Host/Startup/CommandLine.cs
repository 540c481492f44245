namespace Weaving.Host.Startup;

/// <summary>
/// The command line, split into the host's own switches (handed to configuration) and the program's arguments
/// (everything after <c>--</c>).
/// </summary>
public sealed record CommandLine(string[] HostArguments, string[] ProgramArguments)
{
    public const string Usage =
        "usage: Runtime.Host --app <woven dll> --stage <name>[,<name>…] [--rabbitmq <amqp uri>] [--prefetch <n>] [--retries <n>]\n" +
        "                    [--max-message-bytes <n>] [-- <program args>]\n" +
        "       Runtime.Host --app <woven dll> --list [--json]";

    /// <summary>Switch -> configuration key, for the configuration's command-line provider.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["--app"] = "Weaving:App",
        ["--stage"] = "Weaving:Stage",
        ["--rabbitmq"] = "Weaving:RabbitMQ",
        ["--prefetch"] = "Weaving:Prefetch",
        ["--retries"] = "Weaving:Retries",
        ["--max-message-bytes"] = "Weaving:MaxMessageBytes",
        ["--list"] = "Weaving:List",
        ["--json"] = "Weaving:Json",
    };

    // Switches without a value: the configuration provider would otherwise take the next argument as their value.
    static readonly HashSet<string> flags = new(StringComparer.OrdinalIgnoreCase) { "--list", "--json" };

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var host = new List<string>();
        var i = 0;
        for (; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--") { i++; break; }
            if (arg is "-h" or "--help" or "-?")
                throw new HostUsageException(Usage);
            var name = arg.Split('=', 2)[0];
            if (!SwitchMappings.ContainsKey(name))
                throw new HostUsageException($"unknown option '{arg}'. {Usage.Split('\n')[0]}");
            if (flags.Contains(name))
            {
                host.Add(arg.Contains('=') ? arg : arg + "=true");
                continue;
            }
            host.Add(arg);
            if (!arg.Contains('='))
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new HostUsageException($"option {arg} needs a value.");
                host.Add(args[++i]);
            }
        }
        return new CommandLine([.. host], [.. args.Skip(i)]);
    }
}
