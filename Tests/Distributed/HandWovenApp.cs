using Weaving.Host.Messaging;
using Weaving.Host.Startup;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>The HandWoven fixture as a host loads it, and the control queue of one of its runs: what the consumer's
/// parts are tested against without a broker.</summary>
static class HandWovenApp
{
    static readonly Lazy<WovenApp> app = new(() => WovenAppLoader.Load(Fixtures.Get("HandWoven").WovenDll));

    public static WovenApp App => app.Value;

    public static string Run => QueueNames.ForSourceRun(App, "0123456789abcdef");
}
