using JasperFx;

// Marks this assembly as one whose commands the Host's command line offers (found by JasperFx's discovery).
[assembly: JasperFxAssembly]
