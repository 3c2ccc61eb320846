using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// The outcome of the authorization rules for one event: allowed or not, the stable id of the rule that decided
/// (see <see cref="AuthRule"/>, e.g. <c>member.invite.target-banned</c>) and a sentence in the spec's words naming
/// the users involved. A refusal's <see cref="Explanation"/> is written to be returned verbatim to a client as the
/// <c>error</c> of a <c>403 M_FORBIDDEN</c> (<see cref="ToMatrixError"/>).
/// </summary>
public sealed record AuthDecision(bool Allowed, string Rule, string Explanation)
{
    public bool Refused => !Allowed;

    public static AuthDecision Allow(string rule, string explanation) => new(true, rule, explanation);

    public static AuthDecision Refuse(string rule, string explanation) => new(false, rule, explanation);

    /// <summary>The client-server API error for a refusal: <c>403 M_FORBIDDEN</c> with the explanation as <c>error</c>.</summary>
    public MatrixError ToMatrixError() =>
        Allowed
            ? throw new InvalidOperationException($"The event was allowed by {Rule}; there is no error to return.")
            : MatrixError.Forbidden(Explanation);

    public override string ToString() => $"{(Allowed ? "allowed" : "refused")} by {Rule}: {Explanation}";
}
