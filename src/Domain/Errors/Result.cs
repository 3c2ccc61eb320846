namespace Matrix.Rooms.Domain.Errors;

/// <summary>Either a value or the Matrix error that explains why there is none. Deciders return these.</summary>
public readonly record struct Result<T>
{
    private readonly T? _value;

    private Result(T? value, MatrixError? error)
    {
        _value = value;
        Error = error;
    }

    public MatrixError? Error { get; }
    public bool IsSuccess => Error is null;
    public T Value => Error is null ? _value! : throw new MatrixException(Error);

    public static Result<T> Ok(T value) => new(value, null);
    public static Result<T> Fail(MatrixError error) => new(default, error);

    public static implicit operator Result<T>(T value) => Ok(value);
    public static implicit operator Result<T>(MatrixError error) => Fail(error);
}
