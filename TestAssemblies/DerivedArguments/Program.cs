// Arguments declared as a base type that the program derives from (found weaving a program nobody wrote for the
// weaver: a Circle passed as a Shape printed as a plain shape once its message hopped). A message recreates a value as
// the type its parameter declares, so such a call is not cut (WEAV012); a type nothing derives from still travels.
using System;
using System.Collections.Generic;

class Shape
{
    public string Name { get; set; }
    public virtual string Describe() => "shape " + Name;
}

class Circle : Shape
{
    public double Radius { get; set; }
    public override string Describe() => $"circle {Name} r={Radius}";
}

class Square : Shape
{
    public double Side { get; set; }
    public override string Describe() => $"square {Name} side={Side}";
}

record Event(int Id);
record Paid(int Id, decimal Amount) : Event(Id);
record Refunded(int Id, string Reason) : Event(Id);

class Drawing
{
    public string Title { get; set; }
    public List<Shape> Shapes { get; set; } = new();
}

static class Program
{
    // What the handlers saw, printed at the end: a value that arrived as its base type reads differently.
    static readonly List<string> seen = new();
    static readonly List<string> leaves = new();

    static void Main()
    {
        for (var i = 0; i < 6; i++)
        {
            Shape shape = (i % 3) switch
            {
                0 => new Circle { Name = "c" + i, Radius = i },
                1 => new Square { Name = "s" + i, Side = i },
                _ => new Shape { Name = "p" + i },
            };
            OnShape(shape);
            OnEvent(i % 2 == 0 ? new Paid(i, 10m * i) : new Refunded(i, "r" + i));
        }
        OnDrawing(new Drawing { Title = "mixed", Shapes = [new Square { Name = "q", Side = 3 }, new Circle { Name = "o", Radius = 1 }] });
        for (var i = 0; i < 4; i++)
        {
            var circle = new Circle { Name = "only" + i, Radius = 2 * i };
            OnPaid(new Paid(100 + i, i));
            OnCircle(circle);
        }
        OnEnd();
    }

    static void OnShape(Shape shape) => seen.Add(shape.Describe() + " as " + shape.GetType().Name);

    static void OnEvent(Event e) =>
        seen.Add(e switch
        {
            Paid p => $"event {p.Id}: paid {p.Amount}",
            Refunded r => $"event {r.Id}: refunded ({r.Reason})",
            _ => $"event {e.Id}: unknown",
        });

    static void OnDrawing(Drawing drawing)
    {
        foreach (var shape in drawing.Shapes) seen.Add(drawing.Title + ": " + shape.Describe());
    }

    // Nothing derives from Circle or Paid: their calls are cut.
    static void OnCircle(Circle circle) => leaves.Add("only circles: " + circle.Describe());

    static void OnPaid(Paid paid) => leaves.Add($"paid alone: {paid}");

    static void OnEnd()
    {
        foreach (var line in seen) Console.WriteLine(line);
        foreach (var line in leaves) Console.WriteLine(line);
        Console.WriteLine($"{seen.Count} seen, {leaves.Count} leaves");
    }
}
