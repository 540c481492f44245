static class Program
{
    static void Main() => OnTick(1);
    static void OnTick(int n) => System.Console.WriteLine(n);
}
