// A new object handed to a handler, holding an object the caller does not own (found weaving a program nobody wrote
// for the weaver): an order made for each purchase points at its customer, read out of a table. The order arrives as a
// copy, and so would the customer in it: what the handler adds to the customer's totals would change the copy only.
// Such a call is not cut (WEAV013, naming what the new object holds); a new object holding only new objects still is.
using System;
using System.Collections.Generic;

class Customer
{
    public Customer(string name) => Name = name;
    public string Name { get; }
    public decimal Spent { get; set; }
    public int Orders { get; set; }
}

class Order
{
    public Order(int id, Customer customer, decimal amount) => (Id, Customer, Amount) = (id, customer, amount);
    public int Id { get; }
    public Customer Customer { get; }
    public decimal Amount { get; }
}

static class Program
{
    static readonly Dictionary<string, Customer> customers = new()
    {
        ["ann"] = new Customer("ann"),
        ["bob"] = new Customer("bob"),
    };
    static readonly List<string> log = new();

    static void Main()
    {
        string[] names = ["ann", "bob", "ann", "ann", "bob"];
        for (var i = 0; i < names.Length; i++)
            OnOrder(new Order(i, customers[names[i]], 10m + i));
        for (var i = 0; i < 3; i++)
            OnNewCustomer(new Order(100 + i, new Customer("new" + i), i));
        OnEnd();
    }

    static void OnOrder(Order order)
    {
        order.Customer.Spent += order.Amount;
        order.Customer.Orders++;
    }

    // The order and its customer are both new: handed over whole.
    static void OnNewCustomer(Order order) => log.Add($"{order.Customer.Name} spent {order.Amount}");

    static void OnEnd()
    {
        foreach (var (name, customer) in customers) Console.WriteLine($"{name}: {customer.Orders} orders, {customer.Spent} spent");
        foreach (var line in log) Console.WriteLine(line);
    }
}
