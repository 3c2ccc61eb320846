using System.Collections;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Infrastructure.Logging;

/// <summary>
/// No secret in logs. ASP.NET Core's hosting diagnostics log every request's URL with its query string
/// (<c>Request starting … ?access_token=…</c>) before any middleware runs, and Kestrel's bad-request lines quote the
/// request line; neither offers a hook (aspnetcore docs: "we don't actually provide a way to do it in our stack"). So
/// redaction happens where every log line passes: the <see cref="ILoggerFactory"/> is decorated and each message, each
/// structured value and each exception text goes through <see cref="SecretRedactor"/> before any provider sees it.
/// </summary>
public static class SecretRedaction
{
    public static IServiceCollection AddSecretRedactingLogging(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => new RedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(), sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(), sp.GetService<IExternalScopeProvider>()))));
        return services;
    }
}

/// <summary>
/// Replaces secret values with <c>[REDACTED]</c>: the Matrix and identity-service secret parameters in query strings
/// and forms (<c>access_token=…</c>, <c>client_secret=…</c>, <c>sid=…</c>, <c>token=…</c>, <c>password=…</c>, …) and as
/// JSON members, <c>Authorization</c> credentials, and this server's access tokens (<c>mrt_…</c>) wherever they appear.
/// </summary>
public static partial class SecretRedactor
{
    public const string Redacted = "[REDACTED]";

    private const string SecretNames =
        "access_token|refresh_token|id_access_token|guest_access_token|login_token|password|new_password|client_secret|token|sid";

    [GeneratedRegex(@"(?<![A-Za-z0-9_])(" + SecretNames + @")=[^&#\s'""\\]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();

    [GeneratedRegex(@"""(" + SecretNames + @")""\s*:\s*""(?:[^""\\]|\\.)*""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex JsonMember();

    [GeneratedRegex(@"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Credentials();

    [GeneratedRegex(@"\bmrt_[A-Za-z0-9_-]{8,}")]
    private static partial Regex AccessToken();

    /// <summary>The text with its secrets redacted; the same instance when there was nothing to redact.</summary>
    public static string Redact(string text)
    {
        var result = Parameter().Replace(text, "$1=" + Redacted);
        result = JsonMember().Replace(result, "\"$1\":\"" + Redacted + "\"");
        result = Credentials().Replace(result, "$1 " + Redacted);
        result = AccessToken().Replace(result, "mrt_" + Redacted);
        return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
    }
}

internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));
    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);
    public void Dispose() => inner.Dispose();
}

internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel)) return;
        var message = formatter(state, exception);
        var redactedMessage = SecretRedactor.Redact(message);
        var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        var redactedValues = RedactValues(values);
        var redactedException = exception is not null && !ReferenceEquals(SecretRedactor.Redact(exception.ToString()), exception.ToString())
            ? new RedactedException(exception)
            : exception;
        if (ReferenceEquals(message, redactedMessage) && redactedValues is null && ReferenceEquals(exception, redactedException))
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            return;
        }
        inner.Log(logLevel, eventId, new RedactedState(redactedMessage, redactedValues ?? values), redactedException, static (s, _) => s.Message);
    }

    /// <summary>The values with secrets redacted (objects by their text), or null when none had any.</summary>
    private static KeyValuePair<string, object?>[]? RedactValues(IReadOnlyList<KeyValuePair<string, object?>> values)
    {
        KeyValuePair<string, object?>[]? redacted = null;
        for (var i = 0; i < values.Count; i++)
        {
            var (key, value) = values[i];
            if (value is null || value.GetType().IsPrimitive || key == "{OriginalFormat}") continue;
            var text = value as string ?? value.ToString();
            if (text is null) continue;
            var clean = SecretRedactor.Redact(text);
            if (ReferenceEquals(clean, text)) continue;
            redacted ??= values.ToArray();
            redacted[i] = new KeyValuePair<string, object?>(key, clean);
        }
        return redacted;
    }

    private sealed class RedactedState(string message, IReadOnlyList<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;
        public KeyValuePair<string, object?> this[int index] => values[index];
        public int Count => values.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => Message;
    }
}

/// <summary>An exception's text with its secrets redacted; the stack trace is the original's.</summary>
internal sealed class RedactedException(Exception original) : Exception(SecretRedactor.Redact(original.Message))
{
    public string OriginalType => original.GetType().FullName ?? original.GetType().Name;
    public override string? StackTrace => original.StackTrace;
    public override string ToString() => SecretRedactor.Redact(original.ToString());
}
