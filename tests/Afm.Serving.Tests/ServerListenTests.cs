using Afm.Runtime.Tests;
using System.Net;
using System.Net.Sockets;
using Afm.Core.Diagnostics;
using Afm.Serving;

namespace Afm.Serving.Tests;

/// <summary>A server that cannot listen says so in one diagnostic (AFM7101), as `afm serve` prints it, not Kestrel's stack trace.</summary>
public sealed class ServerListenTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    [Fact]
    public async Task A_port_in_use_is_AFM7101_naming_the_url()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}";
        var error = await Assert.ThrowsAsync<DiagnosticException>(() => AfmServer.StartAsync(fixture.Model, new ServerOptions { Urls = [url] }));
        Assert.Equal("AFM7101", error.Diagnostic.Code);
        Assert.Contains(url, error.Diagnostic.Message);
        Assert.DoesNotContain('\n', error.Diagnostic.Message);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1:0")]
    public async Task A_url_kestrel_cannot_use_is_AFM7101(string url)
    {
        var error = await Assert.ThrowsAsync<DiagnosticException>(() => AfmServer.StartAsync(fixture.Model, new ServerOptions { Urls = [url] }));
        Assert.Equal("AFM7101", error.Diagnostic.Code);
    }
}
