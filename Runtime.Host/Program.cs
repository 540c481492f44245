using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Weaving;
using Weaving.Host;
using Weaving.Host.Hosting;
using Weaving.Host.Messaging;
using Weaving.Host.Startup;

// Runtime.Host --app <woven dll> --stage <name>[,<name>…] [--rabbitmq <amqp uri>] [--prefetch <n>] [--retries <n>] [-- <program args>]
// (Runtime.Host --help for all of it)
// stdout belongs to the program; everything the host says goes to stderr.
try
{
    var commandLine = CommandLine.Parse(args, Console.Out);
    if (commandLine.HelpShown) return ExitCodes.Success;

    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    // Last, so that it wins over appsettings.json and the environment.
    builder.Configuration.AddInMemoryCollection(commandLine.Settings);
    var section = builder.Configuration.GetSection(WeavingOptions.Section);
    // Checked before anything runs: the broker opens before the generic host's own start-time validation.
    builder.Services.AddOptions<WeavingOptions>().Bind(section).ValidateOnStart();
    builder.Services.AddSingleton<IValidateOptions<WeavingOptions>, WeavingOptionsValidator>();
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

    // The generic host's own stop timeout must not cut ours short (GroupConsumersService abandons a handler at ours).
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(10));
    builder.Services.AddSingleton(app);
    builder.Services.AddSingleton(selection);
    builder.Services.AddSingleton(new BrokerClientName($"weaving-host {app.Name} {options.Stage} (pid {Environment.ProcessId})"));
    builder.Services.AddSingleton<BrokerConnection>();
    builder.Services.AddSingleton(new ProgramArguments(commandLine.ProgramArguments));
    builder.Services.AddSingleton<HostMetrics>();
    var exporting = Telemetry.AddWhenConfigured(builder.Services, builder.Configuration, options, app);
    builder.Services.AddSingleton<HostExit>();
    builder.Services.AddSingleton<RabbitMqTransport>();
    if (selection.Groups.Count > 0) builder.Services.AddHostedService<GroupConsumersService>();
    if (selection.RunsSource) builder.Services.AddHostedService<SourceService>();

    using var host = builder.Build();
    host.Services.GetRequiredService<IStartupValidator>().Validate();
    var broker = host.Services.GetRequiredService<BrokerConnection>();
    await broker.OpenAsync();
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Weaving.Host").LogInformation("{App} (build {Build}) on {Broker}: {Selection}",
        app.Name, app.BuildHash, broker.Redacted,
        string.Join(", ", [.. selection.RunsSource ? new[] { "source Main" } : [], .. selection.Groups.Select(g => "group " + g.Name)]));

    if (exporting)
        host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Weaving.Host").LogInformation("Exporting the meter and traces 'Weaving' over OTLP");

    // Before the program runs: its posts, and its handlers' posts, must reach this transport, not an in-memory one.
    var transport = host.Services.GetRequiredService<RabbitMqTransport>();
    Pipeline.UseTransport(app, transport);

    var exit = host.Services.GetRequiredService<HostExit>();
    // RunAsync disposes the host's services when it ends, the transport among them (asynchronously: see its DisposeAsync).
    await host.RunAsync();
    return exit.Code;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Runtime.Host: bad setting: {e.Message}.");
    return ExitCodes.BadInput;
}
catch (HostUsageException e)
{
    Console.Error.WriteLine($"Runtime.Host: {e.Message}");
    return e.ExitCode;
}
