using Weaving.Benchmarks;

// dotnet run -c Release --project benchmarks -- --short | --full      throughput (table + chart) and weaving time
//                                             -- --throughput [--full] | --weaving-time [--full] | --probe …
var full = args.Contains("--full");
return args.FirstOrDefault() switch
{
    "--short" or "--full" => Commands.RunThroughput(full, args) + Commands.RunWeavingTime(full),
    "--throughput" => Commands.RunThroughput(full, args),
    "--weaving-time" => Commands.RunWeavingTime(full),
    "--probe" => Commands.RunProbe(args[1..]),
    _ => Commands.Usage(),
};
