using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Afm.Serving;

/// <summary>
/// The outermost step of every request: whatever ends it, the client gets an OpenAI-style JSON error and /metrics
/// counts it once by its final status. Without it, routing's 404/405, Kestrel's 413 (body over the limit) and 408
/// (a body that stops arriving) and any unexpected exception (500) are answered with an empty body, and the 5xx
/// would be missing from /metrics.
/// </summary>
internal sealed class ResponseGuard(ServerMetrics metrics, ServerOptions options, ILogger logger)
{
    /// <summary>The status counted for a request whose client went away before the answer (nginx's convention).</summary>
    public const int ClientClosedRequest = 499;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // A failure after a streamed answer started cannot change the 200 on the wire, but /metrics still counts a 500.
        bool failed = false;
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e)
        {
            await CompletionEndpoint.WriteError(context, Describe(e));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is no one to answer.
        }
        catch (Exception e)
        {
            failed = true;
            logger.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await CompletionEndpoint.WriteError(context, new ApiError(500, $"The server failed on this request ({e.GetType().Name}); it has been logged.",
                code: "internal_error", type: "server_error"));
        }

        if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && context.Response.ContentType is null)
            await CompletionEndpoint.WriteError(context, ForEmptyStatus(context));
        int status = failed ? StatusCodes.Status500InternalServerError
            : context.RequestAborted.IsCancellationRequested ? ClientClosedRequest : context.Response.StatusCode;
        metrics.Request(EndpointName(context), status);
    }

    private ApiError Describe(BadHttpRequestException e) => e.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => new ApiError(413,
            $"The request body is larger than {options.MaxRequestBytes} bytes, the server's limit (afm serve --max-request-bytes).", code: "request_too_large"),
        StatusCodes.Status408RequestTimeout => new ApiError(408, "The request body stopped arriving before it was complete.", code: "request_timeout"),
        _ => new ApiError(e.StatusCode, $"The request is malformed: {e.Message}", code: "bad_request"),
    };

    /// <summary>An error status set without a body: routing's 404 and 405 (a path served under another method).</summary>
    private static ApiError ForEmptyStatus(HttpContext context)
    {
        var request = $"{context.Request.Method} {context.Request.Path}";
        return context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => new ApiError(404, $"No route {request}.", code: "not_found"),
            StatusCodes.Status405MethodNotAllowed => new ApiError(405,
                $"{request} is not allowed; the route answers {context.Response.Headers.Allow}.", code: "method_not_allowed"),
            var status => new ApiError(status, $"{request} failed with HTTP {status}.", code: "http_" + status),
        };
    }

    /// <summary>The metric label of the route that answered; "other" for requests no route took.</summary>
    private static string EndpointName(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "other";
}
