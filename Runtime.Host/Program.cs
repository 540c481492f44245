using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Weaving;
using Weaving.Host;
using Weaving.Host.Hosting;
using Weaving.Host.Messaging;
using Weaving.Host.Startup;

// Runtime.Host --app <woven dll> --stage <name>[,<name>…] [--rabbitmq <amqp uri>] [--prefetch <n>] [--retries <n>] [-- <program args>]
// stdout belongs to the program; everything the host says goes to stderr.
try
{
    var commandLine = CommandLine.Parse(args);

    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    builder.Configuration.AddCommandLine(commandLine.HostArguments, CommandLine.SwitchMappings.ToDictionary());
    var section = builder.Configuration.GetSection(WeavingOptions.Section);
    builder.Services.Configure<WeavingOptions>(section);
    builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss.fff ";
    });
    builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

    WeavingOptions options;
    try
    {
        options = section.Get<WeavingOptions>() ?? new WeavingOptions();
    }
    catch (InvalidOperationException e)
    {
        throw new HostUsageException($"bad setting: {e.Message}");
    }

    if (UncutProgram.TryLoad(options.App) is { } uncut)
        return UncutProgram.Run(uncut, options.List, options.Stage, commandLine.ProgramArguments);
    var app = WovenAppLoader.Load(options.App);
    if (options.List)
    {
        StageListing.Write(app, options.Json, Console.Out);
        return ExitCodes.Success;
    }
    var selection = StageSelection.Parse(app, options.Stage);
    if (options.Prefetch == 0) throw new HostUsageException("--prefetch must be at least 1.");
    if (options.Retries < 0) throw new HostUsageException("--retries must be 0 or more.");
    if (options.MaxMessageBytes < 1) throw new HostUsageException("--max-message-bytes must be at least 1.");
    if (options.ReconnectTimeout < TimeSpan.Zero) throw new HostUsageException("Weaving:ReconnectTimeout must not be negative.");
    if (options.Heartbeat < TimeSpan.FromSeconds(1)) throw new HostUsageException("Weaving:Heartbeat must be at least 1 second.");
    if (options.MaxHeldBytes < 1) throw new HostUsageException("Weaving:MaxHeldBytes must be at least 1.");
    if (options.DeliveryLimit < 1) throw new HostUsageException("Weaving:DeliveryLimit must be at least 1.");
    if (options.ShutdownTimeout < TimeSpan.Zero) throw new HostUsageException("Weaving:ShutdownTimeout must not be negative.");

    // The generic host's own stop timeout must not cut ours short (GroupConsumersService abandons a handler at ours).
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(10));
    builder.Services.AddSingleton(app);
    builder.Services.AddSingleton(selection);
    builder.Services.AddSingleton(new BrokerClientName($"weaving-host {app.Name} {options.Stage} (pid {Environment.ProcessId})"));
    builder.Services.AddSingleton<BrokerConnection>();
    builder.Services.AddSingleton(new ProgramArguments(commandLine.ProgramArguments));
    builder.Services.AddSingleton<HostMetrics>();
    builder.Services.AddSingleton<HostExit>();
    builder.Services.AddSingleton<RabbitMqTransport>();
    if (selection.Groups.Count > 0) builder.Services.AddHostedService<GroupConsumersService>();
    if (selection.RunsSource) builder.Services.AddHostedService<SourceService>();

    using var host = builder.Build();
    var broker = host.Services.GetRequiredService<BrokerConnection>();
    await broker.OpenAsync();
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Weaving.Host").LogInformation("{App} (build {Build}) on {Broker}: {Selection}",
        app.Name, app.BuildHash, broker.Redacted,
        string.Join(", ", [.. selection.RunsSource ? new[] { "source Main" } : [], .. selection.Groups.Select(g => "group " + g.Name)]));

    // Before the program runs: its posts, and its handlers' posts, must reach this transport, not an in-memory one.
    var transport = host.Services.GetRequiredService<RabbitMqTransport>();
    Pipeline.UseTransport(app, transport);

    var exit = host.Services.GetRequiredService<HostExit>();
    await host.RunAsync();
    transport.Dispose();
    return exit.Code;
}
catch (HostUsageException e)
{
    Console.Error.WriteLine($"Runtime.Host: {e.Message}");
    return e.ExitCode;
}
