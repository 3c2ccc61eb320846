using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// <c>m.room.redaction</c>. In v1–v2 the spec has a rule of its own ("If type is m.room.redaction: …"). From v3
/// "m.room.redaction events are subject to auth rules in the same way as any other event … the redact level is not
/// considered by the auth rules"; whether the redaction is then applied is decided when redacting ("Handling
/// redactions"), not here.
/// </summary>
internal static class RedactionRules
{
    public static AuthDecision Check(AuthContext ctx, long senderLevel)
    {
        var ev = ctx.Event;

        // Every version: a redaction names the event it redacts — top-level "redacts" (v1–v10) or content.redacts
        // (v11) — and that is an event ID (event format, m.room.redaction). Without one it redacts nothing and is
        // refused.
        var redacts = ctx.Version.RedactsInContent ? ev.ContentString("redacts") ?? ev.Redacts : ev.Redacts;
        if (redacts is null)
            return AuthDecision.Refuse(AuthRule.RedactionRedactsMissing,
                ctx.Version.RedactsInContent
                    ? "An m.room.redaction event must name the event it redacts in content.redacts"
                    : "An m.room.redaction event must name the event it redacts in redacts");
        if (!EventId.IsValid(redacts))
            return AuthDecision.Refuse(AuthRule.RedactionRedactsInvalid,
                $"'{redacts}' is not an event ID, so it cannot be redacted");

        if (!ctx.Version.SpecialCaseRedactionAuth)
            return AuthDecision.Allow(AuthRule.RedactionAllowed,
                $"{ev.Sender} may send redactions (power level {senderLevel}); whether {redacts} is redacted is " +
                "decided when the redaction is applied");

        // v1–v2: If the sender's power level is greater than or equal to the redact level, allow.
        var redactLevel = ctx.PowerLevels.Redact;
        if (senderLevel >= redactLevel)
            return AuthDecision.Allow(AuthRule.RedactionRedactLevel,
                $"{ev.Sender} has power level {senderLevel}, at least the redact level {redactLevel}");

        // v1–v2: If the domain of the event_id of the event being redacted is the same as the domain of the
        // event_id of the m.room.redaction, allow.
        var redactedDomain = DomainOf(redacts);
        var redactionDomain = DomainOf(ev.EventId);
        if (redactedDomain is not null && redactedDomain == redactionDomain)
            return AuthDecision.Allow(AuthRule.RedactionSameDomain,
                $"The redacted event {redacts} and the redaction {ev.EventId} both come from {redactedDomain}");

        // v1–v2: Otherwise, reject.
        return AuthDecision.Refuse(AuthRule.RedactionPowerTooLow,
            $"{ev.Sender} does not have a high enough power level to redact {redacts}, an event from another server " +
            $"(has {senderLevel}, redacting needs {redactLevel})");
    }

    /// <summary>The domain of a v1–v2 event ID (<c>$opaque:domain</c>), or null when it has none.</summary>
    internal static string? DomainOf(string? eventId)
    {
        if (string.IsNullOrEmpty(eventId)) return null;
        var colon = eventId.IndexOf(':');
        return colon < 0 || colon == eventId.Length - 1 ? null : eventId[(colon + 1)..];
    }
}
