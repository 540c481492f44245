using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;

namespace Weaving.Host.Startup;

/// <summary>
/// The command line, parsed by System.CommandLine: the host's own options, as configuration keys of the <c>Weaving</c>
/// section (only those given, so that appsettings.json and the environment still apply to the rest), and the program's
/// arguments (everything after the first <c>--</c>, untouched).
/// </summary>
public sealed record CommandLine(IReadOnlyDictionary<string, string?> Settings, string[] ProgramArguments, bool HelpShown)
{
    static readonly Option<string> app = new("--app") { Description = "Path of the woven assembly.", HelpName = "woven dll" };
    static readonly Option<string> stage = new("--stage")
    {
        Description = "Stages or groups to run, comma separated: Main runs the program's entry point, all every group.",
        HelpName = "name[,name…]",
    };
    static readonly Option<bool> list = new("--list") { Description = "Print the groups, one a line, and exit." };
    static readonly Option<bool> json = new("--json") { Description = "With --list: print the embedded stage map instead." };
    static readonly Option<string> rabbitmq = new("--rabbitmq")
    {
        Description = $"AMQP URI of the broker (default: ${WeavingOptions.BrokerEnvironmentVariable}, else {WeavingOptions.DefaultBroker}).",
        HelpName = "amqp uri",
    };
    static readonly Option<ushort> prefetch = new("--prefetch") { Description = "Deliveries a group holds unacknowledged (default 256).", HelpName = "n" };
    static readonly Option<int> retries = new("--retries") { Description = "Times a throwing handler runs again before its message fails (default 2).", HelpName = "n" };
    static readonly Option<int> maxMessageBytes = new("--max-message-bytes") { Description = "Largest message body sent or accepted (default 16 MiB).", HelpName = "n" };

    /// <summary>Option -> configuration key: what the command line sets, it sets as the configuration would.</summary>
    static readonly (Option Option, string Key, Func<ParseResult, object?> Value)[] settings =
    [
        (app, "Weaving:App", r => r.GetValue(app)), (stage, "Weaving:Stage", r => r.GetValue(stage)),
        (list, "Weaving:List", r => r.GetValue(list)), (json, "Weaving:Json", r => r.GetValue(json)),
        (rabbitmq, "Weaving:RabbitMQ", r => r.GetValue(rabbitmq)), (prefetch, "Weaving:Prefetch", r => r.GetValue(prefetch)),
        (retries, "Weaving:Retries", r => r.GetValue(retries)), (maxMessageBytes, "Weaving:MaxMessageBytes", r => r.GetValue(maxMessageBytes)),
    ];

    static RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "Runs a woven program's stage groups over RabbitMQ: one process per group, and one (--stage Main) for the program's " +
            "entry point. Settings come from appsettings.json, the environment (Weaving__Stage, WEAVING_RABBITMQ) and these " +
            "options, the last winning. Arguments after -- are the program's.");
        foreach (var (option, _, _) in settings) root.Options.Add(option);
        return root;
    }

    /// <summary>Parses <paramref name="args"/>; bad usage is a <see cref="HostUsageException"/>, <c>--help</c> prints usage.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, TextWriter helpOutput)
    {
        // The program's arguments are not the host's to interpret, whatever they look like: split before parsing.
        var separator = args.ToList().IndexOf("--");
        var hostArguments = separator < 0 ? args.ToArray() : args.Take(separator).ToArray();
        string[] programArguments = separator < 0 ? [] : [.. args.Skip(separator + 1)];

        var root = CreateRoot();
        // A host argument starting with '@' is a path, not a file of arguments to read.
        var result = root.Parse(hostArguments, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is HelpAction)
        {
            result.Invoke(new InvocationConfiguration { Output = helpOutput });
            return new CommandLine(new Dictionary<string, string?>(), programArguments, HelpShown: true);
        }
        if (result.Errors.Count > 0)
            // The first error is the one to fix: the rest often follow from it ("--stages all" is two unknown tokens).
            throw new HostUsageException($"{result.Errors[0].Message.TrimEnd('.')} (see --help).");

        var given = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (option, key, value) in settings)
            if (result.GetResult(option) is { Implicit: false })
                given[key] = Convert.ToString(value(result), CultureInfo.InvariantCulture);
        return new CommandLine(given, programArguments, HelpShown: false);
    }
}
