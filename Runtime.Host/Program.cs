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

// Runtime.Host --app <woven dll> --stage <name>[,<name>…] [--rabbitmq <amqp uri>] [--prefetch <n>] [-- <program args>]
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

    var app = WovenAppLoader.Load(options.App);
    if (options.List)
    {
        StageListing.Write(app, options.Json, Console.Out);
        return ExitCodes.Success;
    }
    var selection = StageSelection.Parse(app, options.Stage);
    if (options.Prefetch == 0) throw new HostUsageException("--prefetch must be at least 1.");

    var broker = options.ResolveBroker();
    var clientName = $"weaving-host {app.Name} {options.Stage} (pid {Environment.ProcessId})";
    await using var connection = await BrokerConnection.OpenAsync(broker, clientName);

    builder.Services.AddSingleton(app);
    builder.Services.AddSingleton(selection);
    builder.Services.AddSingleton(connection);
    builder.Services.AddSingleton(new ProgramArguments(commandLine.ProgramArguments));
    builder.Services.AddSingleton<HostMetrics>();
    builder.Services.AddSingleton<HostExit>();
    builder.Services.AddSingleton<RabbitMqTransport>();
    if (selection.Groups.Count > 0) builder.Services.AddHostedService<GroupConsumersService>();
    if (selection.RunsSource) builder.Services.AddHostedService<SourceService>();

    using var host = builder.Build();
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Weaving.Host").LogInformation("{App} (build {Build}) on {Broker}: {Selection}",
        app.Name, app.BuildHash, BrokerConnection.Redact(broker),
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
