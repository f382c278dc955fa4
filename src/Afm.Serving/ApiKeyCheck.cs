using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Afm.Serving;

/// <summary>
/// With an API key (<see cref="ServerOptions.ApiKey"/>), every request but <c>GET /healthz</c> (what a load balancer
/// probes) and CORS preflights (browsers send them without credentials) must carry <c>Authorization: Bearer KEY</c>,
/// as the OpenAI API and llama-server's <c>--api-key</c> ask; otherwise 401 with OpenAI's error shape
/// (<c>invalid_api_key</c>) and a <c>WWW-Authenticate: Bearer</c> header. Keys are compared in constant time.
/// </summary>
internal sealed class ApiKeyCheck(string key)
{
    private readonly byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        bool open = HttpMethods.IsOptions(context.Request.Method) || (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/healthz");
        if (open || Presented(context.Request) is { } given && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        var message = Presented(context.Request) is null
            ? "You didn't provide an API key. Send it in an Authorization header: 'Authorization: Bearer YOUR_KEY'."
            : "Incorrect API key provided.";
        await CompletionEndpoint.WriteError(context, new ApiError(401, message, code: "invalid_api_key"));
    }

    /// <summary>The key of an <c>Authorization: Bearer KEY</c> header, or null.</summary>
    private static string? Presented(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
