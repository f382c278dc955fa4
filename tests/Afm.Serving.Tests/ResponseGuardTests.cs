using Afm.Runtime.Tests;
using System.Text.Json;
using Afm.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Afm.Serving.Tests;

/// <summary>
/// The one answer no request can provoke on purpose: a fault of the server itself. It must still be a JSON error and a
/// 500 in /metrics (the HTTP tests cover every answer a client can cause).
/// </summary>
public sealed class ResponseGuardTests
{
    private readonly ServerMetrics metrics = new();

    private async Task<DefaultHttpContext> Run(RequestDelegate endpoint)
    {
        var context = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
        context.Request.Method = "POST";
        context.Request.Path = "/v1/completions";
        await new ResponseGuard(metrics, new ServerOptions(), NullLogger.Instance).InvokeAsync(context, endpoint);
        return context;
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_500_json_error_counted_in_metrics()
    {
        var context = await Run(_ => throw new InvalidOperationException("a bug"));

        Assert.Equal(500, context.Response.StatusCode);
        context.Response.Body.Position = 0;
        var error = JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("internal_error", error.GetProperty("code").GetString());
        Assert.Contains("afm_requests_total{endpoint=\"other\",status=\"500\"} 1", metrics.Render(new RequestGate(1, 0)));
    }

    [Fact]
    public async Task A_status_set_without_a_body_gets_a_json_body()
    {
        var context = await Run(c => { c.Response.StatusCode = 404; return Task.CompletedTask; });

        context.Response.Body.Position = 0;
        Assert.Equal("not_found", JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("status=\"404\"} 1", metrics.Render(new RequestGate(1, 0)));
    }
}
