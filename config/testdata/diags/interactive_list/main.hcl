recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "menus" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }

  message "menu" {
    after = message.offer
    interactive = {
      type   = "list"
      header = { type = "image", text = "x" }
      body   = { text = "What would you like?" }
      action = {
        button = "Show me everything on the menu"
        sections = [
          {
            title = "Drinks"
            rows  = [for i in range(6) : { id = "d${i}", title = "Drink ${i}" }]
          },
          {
            rows = concat([for i in range(5) : { id = "f${i}", title = "Food ${i}" }], [
              { id = "f0", title = "A row title longer than 24", description = join("", [for i in range(80) : "d"]) },
            ])
          },
        ]
      }
    }
  }

  message "no_sections" {
    after = message.offer
    interactive = {
      type   = "list"
      body   = { text = "x" }
      action = { sections = [{ title = "Empty section with a long title", rows = [] }] }
    }
  }
}
