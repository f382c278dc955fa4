namespace Afm.Serving;

/// <summary>An error answered as OpenAI-style JSON: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed class ApiError(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    public string Type { get; } = type;

    public object Body => new { error = new { message = Message, type = Type, param = Param, code = Code } };
}
