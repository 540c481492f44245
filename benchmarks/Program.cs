using Weaving.Benchmarks;

// dotnet run -c Release --project benchmarks -- --short | --full      throughput (table + chart) and weaving time
//                                             -- --throughput [--full] | --weaving-time [--full] | --probe …
//                                             -- --whole-process [--full] [App.dll [args…]]   woven against unwoven, whole process
var full = args.Contains("--full");
return args.FirstOrDefault() switch
{
    // The raw client's source as a process of its own (--probe broker's RawFreshSource starts it).
    "--raw-source" => Weaving.Benchmarks.Throughput.RawRabbitMqPipeline.PublishAsSourceAsync(args[1], int.Parse(args[2])).GetAwaiter().GetResult(),
    "--short" or "--full" => Commands.RunWholeProcess(full, []) + Commands.RunThroughput(full, args) + Commands.RunWeavingTime(full),
    "--whole-process" => Commands.RunWholeProcess(full, args[1..]),
    "--throughput" => Commands.RunThroughput(full, args),
    "--weaving-time" => Commands.RunWeavingTime(full),
    "--probe" => Commands.RunProbe(args[1..]),
    _ => Commands.Usage(),
};
